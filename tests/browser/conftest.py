"""Browser tests: the real server (uvicorn, in a thread, on a free loopback port) driven by Debian's
Chromium through Playwright. Skipped when /usr/bin/chromium is missing (CI installs it)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, case_dir: Path, auth: str | None = None) -> None:
        import uvicorn

        from leaklens.web.app import create_app
        from leaklens.web.server import allowed_hosts_for

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(case_dir, auth_token=auth, allowed_hosts=allowed_hosts_for("127.0.0.1", self.port))
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 15
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def web_case_dir(tmp_path_factory) -> Path:
    import web_case

    root = tmp_path_factory.mktemp("webcase")
    case = web_case.build(root)
    case.close()
    return root / "case"


@pytest.fixture(scope="session")
def live(web_case_dir) -> Iterator[LiveServer]:
    with LiveServer(web_case_dir) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Recorder:
    """Every request the page (and its frames) makes, and whether any left 127.0.0.1."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []

    def outside(self) -> list[str]:
        return [
            u
            for u in self.requests
            if not (
                u.startswith(self.origin + "/")
                or u == self.origin
                or u.startswith("data:")
                or u == "about:blank"
            )
        ]


@pytest.fixture
def page(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
    rec = Recorder(live.url)
    # Anything not for the local server is recorded and aborted: nothing leaves, even on failure.
    context.on("request", lambda r: rec.requests.append(r.url))

    def gate(route):
        if route.request.url.startswith(live.url + "/"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", gate)
    pg = context.new_page()
    pg.recorder = rec  # type: ignore[attr-defined]
    yield pg
    context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
