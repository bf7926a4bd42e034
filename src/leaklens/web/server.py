"""`leaklens serve`: run the workbench with uvicorn, safely by default."""

from __future__ import annotations

import ipaddress
import webbrowser
from pathlib import Path

from ..errors import LeaklensError, UsageError

LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(host: str, port: int) -> list[str] | None:
    """Host headers accepted on loopback (a DNS-rebinding page would send its own name); any with auth."""
    if not is_loopback(host):
        return None
    return ["127.0.0.1", "localhost", "[::1]", host.strip().lower()]


def run(case_dir: Path, host: str, port: int, auth: str | None, open_browser: bool = False) -> None:
    """Serve the case until interrupted. Anything but a loopback address requires `auth`."""
    import uvicorn

    from .. import preview
    from .app import create_app

    if not is_loopback(host) and not auth:
        raise UsageError(
            f"refusing to serve on {host} without --auth: anyone on the network could read the case; "
            "use --auth PASSWORD or --host 127.0.0.1"
        )
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    app = create_app(Path(case_dir), auth_token=auth, allowed_hosts=allowed_hosts_for(host, port))
    preview.warm()  # the document renderers start with the server, not with its first preview
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    print(f"leaklens workbench on {url}  (case: {Path(case_dir).resolve()}; Ctrl+C to stop)", flush=True)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    try:
        uvicorn.Server(config).run()
    except OSError as exc:  # port taken, address not available
        raise LeaklensError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
