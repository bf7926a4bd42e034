"""The workbench's side of the audit log: every web action that changes the case or takes data out of it
(tags, notes, bulk actions, exports, logins) recorded by one ASGI middleware, and the Audit page.

One middleware rather than a line in each route: a route added later is recorded without anyone
remembering to. Recorded after the response, only when it succeeded (status below 400): the log
says what was done, not what was tried. Request bodies are not recorded (a note's text is the
journalist's, and the note is in the case anyway); the route, its ids and the query are.
"""

from __future__ import annotations

import hashlib
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from .. import audit

router = APIRouter()

READS = {"GET", "HEAD", "OPTIONS"}


def is_action(method: str, path: str) -> bool:
    return method not in READS or "export" in path


def web_user(scope: dict[str, Any]) -> str:
    """Who, as far as the workbench knows: logged in with the case's token or on an open local server, from
    which address, in which session (a digest: the session id itself is a credential)."""
    session = (scope.get("state") or {}).get("session")
    client = (scope.get("client") or ("?", 0))[0]
    if session is None:
        return f"web (no session)@{client}"
    how = "web login" if session.authenticated else "web (no login)"
    return f"{how}@{client} session {hashlib.sha256(session.id.encode()).hexdigest()[:8]}"


class AuditMiddleware:
    """Pure ASGI (a BaseHTTPMiddleware would buffer streamed exports)."""

    def __init__(self, app, pool) -> None:
        self.app, self.pool = app, pool
        self._writer: anyio.CapacityLimiter | None = None  # one audit write at a time, made in the loop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not is_action(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        status = [500]

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status[0] < 400:
            route = scope.get("route")
            options = {
                "path": scope["path"],
                "route": getattr(route, "path", None),
                "params": dict(scope.get("path_params") or {}),
                "query": (scope.get("query_string") or b"").decode("latin-1")[:2000],
                "status": status[0],
            }
            command = f"{scope['method']} {options['route'] or scope['path']}"
            entry = audit.entry(web_user(scope), "web", command, options)
            # Its own thread token: with the requests' (one per core, app.CONCURRENCY) an action
            # queued twice behind every page, once to run and once to be recorded.
            if self._writer is None:
                self._writer = anyio.CapacityLimiter(1)
            await anyio.to_thread.run_sync(self._write, entry, limiter=self._writer)

    def _write(self, entry: dict[str, Any]) -> None:
        try:
            self.pool.get().db.append_audit(entry)
        except Exception:  # noqa: BLE001 - the action is done; a log that cannot be written must not undo it
            import logging

            logging.getLogger("leaklens.audit").exception("audit entry not written: %s", entry["command"])


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, page: int = 0) -> HTMLResponse:
    per = 200
    entries = request.app.state.pool.get().db.audit_entries(per + 1, max(0, page) * per)
    return HTMLResponse(
        request.app.state.render.page(
            request, "audit.html", entries=entries[:per], page=max(0, page), more=len(entries) > per
        )
    )


@router.get("/api/audit")
def audit_api(request: Request, limit: int = 200, offset: int = 0) -> JSONResponse:
    """The case's audit log, newest first: who did what, when, with which version and options."""
    limit = max(1, min(limit, 10_000))
    return JSONResponse(request.app.state.pool.get().db.audit_entries(limit, max(0, offset)))
