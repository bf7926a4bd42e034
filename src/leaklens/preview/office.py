"""Office documents previewed as pages: converted to PDF by LibreOffice (as Aleph does), when it is
installed, then drawn page by page by the PDF renderers (`preview.page_png`). The browser gets the
PNGs only, never the PDF.

The document is hostile input and LibreOffice a large C++ program, so a conversion is run as:
- a copy of the blob in a throw-away folder, under a neutral name (never the leak's file name);
- a throw-away profile (`-env:UserInstallation`), headless, in its own process group, killed whole
  at the deadline (soffice starts soffice.bin as a child: killing one pid would leave it running);
- no macros: `--convert-to` loads the document with Hidden=true (desktop/source/app/dispatchwatcher.cxx),
  and LoadEnv::initializeUIDefaults (framework/source/loadenv/loadenv.cxx) gives a hidden load
  MacroExecutionMode NEVER_EXECUTE and UpdateDocMode NO_UPDATE, whatever the security level; the
  profile also sets MacroSecurityLevel 3 (Very high: only macros from trusted locations, of which
  the profile has none) and DisableMacrosExecution, so that the rule does not rest on that code path
  (measured on 7.4: an .odt whose OnLoad macro writes a file writes it when opened with security
  Low, and not when converted, even with security Low);
- no network: LibreOffice 7.4 fetches a docx's linked images during a headless convert (measured: an
  image linked to http://127.0.0.1:PORT/x.png was requested twice, after an OPTIONS), so the profile
  sets BlockUntrustedRefererLinks (no link is loaded from a document outside the trusted locations),
  and where the system allows it (`unshare -n`, root or user namespaces) the process runs in an
  empty network namespace, where no address answers at all;
- its output capped (RLIMIT_FSIZE: a write past the cap ends the process) and checked to be a PDF,
  its memory capped (RLIMIT_AS).

The PDF is derived data, kept per sha256 in the case folder (cache/office-pdf/, never beside the
blobs: fsck lists blobs/ only), so the next view of the document draws without converting; two
requests for one document convert it once (a file lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from . import PreviewError

CONVERT_TIMEOUT = 60.0  # a large spreadsheet on a loaded 2-core machine; a request waits this long at worst
MAX_PDF_BYTES = 256 << 20
# Address space of LibreOffice (RLIMIT_AS): a document that decompresses into gigabytes fails its
# conversion instead of taking the server's memory. 20-page documents convert under 1 GB here.
MAX_MEMORY = 2 << 30
CONVERSIONS = 2  # LibreOffice processes at once: each takes a core and a few hundred MB
RETRY_FAILED_AFTER = 600.0  # a document LibreOffice failed on is not tried again for each view
CACHE_DIR = Path("cache") / "office-pdf"

# The input's name inside the throw-away folder: LibreOffice picks its import filter by content and
# extension; the leak's own name (bidi controls, "..", a thousand bytes) never reaches it.
EXTENSIONS = {
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
    "application/rtf": ".rtf",
}

# The throw-away profile's settings (registrymodifications.xcu): (node, property, type, value).
SETTINGS = (
    ("org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "int", "3"),
    ("org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "boolean", "true"),
    ("org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "boolean", "true"),
    ("org.openoffice.Office.Common/Misc", "UseLocking", "boolean", "false"),
    ("org.openoffice.Office.Writer/Content/Update", "Link", "int", "0"),  # 0: never update links
    ("org.openoffice.Office.Calc/Content/Update", "Link", "int", "0"),
)


def profile_xcu(settings: tuple[tuple[str, str, str, str], ...] | None = None) -> str:
    """registrymodifications.xcu holding `settings` (None: SETTINGS, as the module has it now)."""
    items = "".join(
        f'<item oor:path="/{node}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>\n'
        for node, name, _type, value in (SETTINGS if settings is None else settings)
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
            'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            f"{items}</oor:items>\n")  # fmt: skip


class ConvertError(PreviewError):
    """LibreOffice could not make a PDF of the document (damaged, over time, too large): one line."""


@functools.cache
def soffice() -> str | None:
    """LibreOffice's command, found on PATH once (None: not installed, the text preview is used)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


@functools.cache
def isolation() -> tuple[str, ...]:
    """The command prefix that runs a program with no network: `unshare -n` (root), `unshare -rn`
    (user namespaces), or () where neither works (the profile's settings then hold alone)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    for prefix in ((unshare, "-n"), (unshare, "-rn")):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
            if done.returncode == 0:
                return prefix
    return ()


def cache_path(case_root: Path, sha256: str) -> Path:
    return Path(case_root) / CACHE_DIR / sha256[:2] / f"{sha256}.pdf"


_slots = threading.Semaphore(CONVERSIONS)
_failed: dict[str, tuple[float, str]] = {}
_failed_lock = threading.Lock()


def pdf_of(case_root: Path, blob: Path, sha256: str, mime: str, *, timeout: float | None = None) -> Path:
    """The PDF LibreOffice made of the office document `blob` (sha256 `sha256`): from the case's cache,
    else converted now (once, whoever else asks meanwhile). Raises ConvertError with one line."""
    target = cache_path(case_root, sha256)
    if target.is_file():
        return target
    if soffice() is None:
        raise ConvertError("LibreOffice is not installed")
    with _failed_lock:
        failed = _failed.get(sha256)
    if failed and time.monotonic() - failed[0] < RETRY_FAILED_AFTER:
        raise ConvertError(failed[1])
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = open(target.parent / f".{sha256}.lock", "a")  # noqa: SIM115 - held across the conversion
    except OSError as exc:
        raise ConvertError(f"the case folder's cache cannot be written ({exc.strerror})") from None
    with lock:
        # flock: one conversion of a document at a time, across the server's threads (each opens
        # its own lock file, so they exclude one another) and across processes on the case.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():  # converted while this request waited
            return target
        try:
            with _slots:
                convert(blob, mime, target, timeout=CONVERT_TIMEOUT if timeout is None else timeout)
        except ConvertError as exc:
            with _failed_lock:
                _failed[sha256] = (time.monotonic(), str(exc))
            raise
    return target


def _limits() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_PDF_BYTES, MAX_PDF_BYTES))
    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def convert(blob: Path, mime: str, target: Path, *, timeout: float = CONVERT_TIMEOUT) -> None:
    """Convert the office document `blob` to a PDF at `target` (written whole or not at all)."""
    exe = soffice()
    if exe is None:
        raise ConvertError("LibreOffice is not installed")
    with tempfile.TemporaryDirectory(prefix="leaklens-office-") as tmp:
        work = Path(tmp)
        name = "document" + EXTENSIONS.get(mime, ".bin")
        (work / "in").mkdir()
        (work / "out").mkdir()
        (work / "profile" / "user").mkdir(parents=True)
        (work / "profile" / "user" / "registrymodifications.xcu").write_text(profile_xcu(), encoding="utf-8")
        try:
            shutil.copyfile(blob, work / "in" / name)  # LibreOffice never sees the blob store
        except OSError as exc:
            raise ConvertError(f"the stored file cannot be read ({exc.strerror})") from None
        cmd = [
            *isolation(), exe, f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck", "--nodefault",
            "--convert-to", "pdf", "--outdir", str(work / "out"), str(work / "in" / name),
        ]  # fmt: skip
        # Its own HOME and TMPDIR: nothing is read from or left in the server user's home.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TMPDIR": str(work),
               "LANG": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}  # fmt: skip
        with open(work / "log", "wb") as log:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=work, env=env,
                start_new_session=True, preexec_fn=_limits,
            )  # fmt: skip
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise ConvertError(f"LibreOffice took over {timeout:g} s on this document") from None
            finally:
                _kill_group(proc)
        out = work / "out" / "document.pdf"
        if _reached_cap(work):
            raise ConvertError(f"LibreOffice's output for this document is over the {MAX_PDF_BYTES:,}-byte cap")
        if not out.is_file() or out.stat().st_size == 0:
            raise ConvertError(_reason(work / "log", proc.returncode))
        with open(out, "rb") as f:
            if f.read(5) != b"%PDF-":
                raise ConvertError("LibreOffice's output is not a PDF")
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        try:
            shutil.copyfile(out, partial)  # the cache may be on another file system than /tmp
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ConvertError(f"the converted PDF cannot be kept in the case folder ({exc.strerror})") from None


def _reached_cap(work: Path) -> bool:
    """Whether LibreOffice wrote a file up to the RLIMIT_FSIZE cap (and was stopped there): its PDF
    or the temporary file it exports to. (It aborts on the refused write; its exit says nothing.)"""
    for folder, _dirs, files in os.walk(work):
        for name in files:
            with contextlib.suppress(OSError):
                if os.stat(os.path.join(folder, name)).st_size >= MAX_PDF_BYTES:
                    return True
    return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End soffice and whatever it started (soffice.bin, a crash reporter): its whole process group,
    with SIGKILL (oosplash outlived a SIGTERM from `timeout` by many minutes here, soffice.bin dead)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _reason(log: Path, returncode: int | None) -> str:
    """One line for a conversion that made no PDF: LibreOffice's own "Error: ..." line when it says one
    (its paths are ours, in the throw-away folder: dropped), else its exit."""
    try:
        lines = log.read_text("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        if line.startswith("Error:"):
            said = line.split(" /", 1)[0].strip().rstrip(":")
            return f"LibreOffice could not read this document ({said[6:].strip()[:120]})"
    if returncode is not None and returncode < 0:
        return f"LibreOffice stopped on this document (signal {-returncode})"
    return "LibreOffice could not convert this document (damaged, encrypted or not an office file)"
