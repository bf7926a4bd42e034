"""The workbench application: one FastAPI app over one case folder."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..case import Case
from ..errors import LeaklensError
from ..preview import kind_of as preview_kind
from .render import Renderer
from .security import Guard, SecurityMiddleware, csrf_guard

WEB_DIR = Path(__file__).resolve().parent


class CasePool:
    """One open case (one SQLite connection) per server thread: sqlite3 connections are not shared."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._local = threading.local()
        # Opening migrates the case (a case made by an older leaklens gets notes, tags and the
        # current indexes); the planner's statistics are brought up to date once, here.
        with Case.open(self.root) as case:
            case.db.prepare_for_reading()  # a LeaklensError (one line) if the case cannot be written
            self.name = self.root.resolve().name

    def get(self) -> Case:
        case = getattr(self._local, "case", None)
        if case is None:
            case = Case.open(self.root)
            self._local.case = case
        return case


# Pages and API calls run in a thread pool, and their work (SQLite, templates) is CPU work. With a
# thread per request, 8 concurrent searches share 2 cores and each takes 4x its own time; run a few
# at a time (one per core) and a heavy search waits its turn, then runs at full speed: the same
# throughput, a much shorter tail (bench/web.py: search p95 under 8 clients). 0 = one per core.
CONCURRENCY = int(os.environ.get("LEAKLENS_WEB_CONCURRENCY", "0")) or (os.cpu_count() or 2)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:  # noqa: ARG001 - Starlette's signature
    anyio.to_thread.current_default_thread_limiter().total_tokens = CONCURRENCY
    yield


def create_app(case_dir: Path, *, auth_token: str | None = None, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The workbench over `case_dir`. With `auth_token`, every page and API call needs a login
    (or `Authorization: Bearer TOKEN`); `allowed_hosts` limits the Host header (DNS rebinding guard)."""
    if auth_token is not None and not auth_token.strip():
        raise LeaklensError("--auth needs a non-empty password or token")
    pool = CasePool(case_dir)
    guard = Guard(auth_token, allowed_hosts)
    app = FastAPI(
        title="leaklens workbench API",
        version=__version__,
        description="Search, read and check every item of a leak. State-changing calls need the session's "
        "CSRF token in `X-CSRF-Token` (GET /api/session) or `Authorization: Bearer TOKEN`.",
        dependencies=[Depends(csrf_guard)],
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.pool = pool
    app.state.guard = guard
    app.state.render = Renderer(WEB_DIR / "templates", case_name=pool.name, auth=guard.auth_required)
    app.state.render.env.globals["preview_kind"] = preview_kind  # which preview an item has (item page)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    from . import audit as audit_views
    from .views import api, bulk, pages
    from .views import entities as entities_views
    from .views import jobs as jobs_views
    from .views import phishing as phishing_views
    from .views import preview as preview_views
    from .views import reading as reading_views
    from .views import spread as spread_views

    app.include_router(api.router)
    app.include_router(bulk.router)  # before pages: /search/bulk, /search/batch
    app.include_router(pages.router)
    app.include_router(spread_views.router)
    app.include_router(phishing_views.router)
    app.include_router(jobs_views.router)
    app.include_router(audit_views.router)
    app.include_router(entities_views.router)
    app.include_router(reading_views.router)
    app.include_router(preview_views.router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):  # noqa: ANN202 - Starlette handler
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return HTMLResponse(
            request.app.state.render.page(request, "error.html", status=exc.status_code, message=str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(LeaklensError)
    async def user_error(request: Request, exc: LeaklensError):  # noqa: ANN202
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return HTMLResponse(
            request.app.state.render.page(request, "error.html", status=400, message=str(exc)),
            status_code=400,
        )

    app.add_middleware(audit_views.AuditMiddleware, pool=pool)  # inside the guard: sees the request's session
    app.add_middleware(SecurityMiddleware, guard=guard)
    return app
