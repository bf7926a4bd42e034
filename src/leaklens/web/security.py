"""The workbench's walls: security headers on every response, sessions, login, CSRF, throttling,
and a Host check against DNS rebinding.

Sessions live in memory (a restart logs everyone out, which is what a laptop tool
should do). Every browser gets a session, logged in or not, because the CSRF token
lives in it: even on 127.0.0.1 a hostile web page could otherwise post to the
workbench from the journalist's own browser.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request

APP_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
# For the email HTML shown in the iframe: nothing runs, nothing is fetched, nothing is submitted.
CONTENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox"
)

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC_PATHS = ("/login", "/static/", "/favicon.ico")
SESSION_IDLE = 12 * 3600
MAX_SESSIONS = 10_000


@dataclass
class Session:
    id: str
    csrf: str
    authenticated: bool
    created: float = field(default_factory=time.time)
    seen: float = field(default_factory=time.time)


class Sessions:
    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, *, authenticated: bool) -> Session:
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), authenticated)
        with self._lock:
            if len(self._by_id) >= MAX_SESSIONS:
                self._expire(force=True)
            self._by_id[s.id] = s
        return s

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            s = self._by_id.get(session_id)
            if s is None:
                return None
            now = time.time()
            if now - s.seen > SESSION_IDLE:
                del self._by_id[session_id]
                return None
            s.seen = now
            return s

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._by_id.pop(session_id, None)

    def _expire(self, force: bool = False) -> None:
        now = time.time()
        for sid in [k for k, s in self._by_id.items() if now - s.seen > SESSION_IDLE]:
            del self._by_id[sid]
        if force and len(self._by_id) >= MAX_SESSIONS:
            # Oldest anonymous sessions go first; a flood of cookie-less requests must not evict logins.
            anon = sorted((s for s in self._by_id.values() if not s.authenticated), key=lambda s: s.seen)
            for s in anon[: len(self._by_id) // 2 or 1]:
                del self._by_id[s.id]


class LoginThrottle:
    """After `free` failures from one client, each further try waits longer (doubling, capped)."""

    def __init__(self, free: int = 5, base_delay: float = 30.0, cap: float = 900.0, window: float = 3600.0) -> None:
        self.free, self.base_delay, self.cap, self.window = free, base_delay, cap, window
        self._fails: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before the next attempt (0: may try now)."""
        with self._lock:
            count, last = self._fails.get(client, (0, 0.0))
            now = time.time()
            if now - last > self.window:
                self._fails.pop(client, None)
                return 0.0
            if count < self.free:
                return 0.0
            delay = min(self.cap, self.base_delay * 2 ** (count - self.free))
            return max(0.0, last + delay - now)

    def failed(self, client: str) -> None:
        with self._lock:
            count, last = self._fails.get(client, (0, 0.0))
            if time.time() - last > self.window:
                count = 0
            self._fails[client] = (count + 1, time.time())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._fails.pop(client, None)


class Guard:
    """Everything the middleware and the routes need to agree on, for one app."""

    def __init__(self, auth_token: str | None, allowed_hosts: list[str] | None) -> None:
        self.auth_token = auth_token
        self.allowed_hosts = {h.lower() for h in allowed_hosts} if allowed_hosts else None
        self.sessions = Sessions()
        self.throttle = LoginThrottle()
        # One cookie name per running server: cookies ignore ports, and two workbenches on one
        # laptop must not overwrite each other's session.
        self.cookie = "leaklens_" + secrets.token_hex(4)

    @property
    def auth_required(self) -> bool:
        return self.auth_token is not None

    def check_secret(self, candidate: str) -> bool:
        if self.auth_token is None:
            return True
        return hmac.compare_digest(candidate.encode("utf-8"), self.auth_token.encode("utf-8"))

    def cookie_header(self, session: Session, secure: bool) -> str:
        return f"{self.cookie}={session.id}; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class SecurityMiddleware:
    """Pure ASGI (no per-request task switching): host check, session, auth gate, headers."""

    def __init__(self, app: Callable[..., Awaitable[None]], guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        g = self.guard
        headers = _headers(scope)
        path = scope.get("path", "/")
        if g.allowed_hosts is not None:
            host = headers.get("host", "").lower()
            hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if hostname not in g.allowed_hosts and host not in g.allowed_hosts:
                await _plain(send, 400, "Unknown Host header; open the workbench by the address it printed.")
                return
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is treated as no cookie
            cookie = SimpleCookie()
        morsel = cookie.get(g.cookie)
        session = g.sessions.get(morsel.value if morsel else None)
        new_cookie = None
        bearer = False
        auth = headers.get("authorization", "")
        client = (scope.get("client") or ("?", 0))[0]
        if auth.lower().startswith("bearer ") and g.auth_required:
            if g.throttle.retry_after(client) > 0:
                await _plain(send, 429, "Too many failed attempts; wait before trying again.")
                return
            if g.check_secret(auth[7:].strip()):
                bearer = True
                g.throttle.succeeded(client)
            else:
                g.throttle.failed(client)
        if session is None:
            session = g.sessions.new(authenticated=not g.auth_required)
            new_cookie = g.cookie_header(session, scope.get("scheme") == "https")
        state = scope.setdefault("state", {})
        state["session"] = session
        state["bearer"] = bearer
        state["guard"] = g
        allowed = session.authenticated or bearer or path.startswith(PUBLIC_PATHS)
        if not allowed:
            if path.startswith("/api/") or path in ("/openapi.json", "/docs", "/redoc"):
                await _plain(send, 401, '{"detail": "log in first"}', new_cookie, "application/json")
            else:
                target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
                await _redirect(send, "/login?next=" + quote(target, safe=""), new_cookie)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in raw}
                extra = dict(BASE_HEADERS)
                extra.setdefault("content-security-policy", APP_CSP)
                extra.setdefault("x-frame-options", "DENY")
                if not path.startswith("/static/"):
                    extra.setdefault("cache-control", "no-store")
                for k, v in extra.items():
                    if k not in present:
                        raw.append((k.encode("latin-1"), v.encode("latin-1")))
                if new_cookie:
                    raw.append((b"set-cookie", new_cookie.encode("latin-1")))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(
    send: Send, status: int, body: str, cookie: str | None = None, ctype: str = "text/plain; charset=utf-8"
) -> None:
    headers = [
        (b"content-type", ctype.encode()),
        *[(k.encode(), v.encode()) for k, v in BASE_HEADERS.items()],
        (b"content-security-policy", APP_CSP.encode()),
        (b"x-frame-options", b"DENY"),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="leaklens"'))
    if cookie:
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode("utf-8")})


async def _redirect(send: Send, location: str, cookie: str | None) -> None:
    headers = [
        (b"location", location.encode("latin-1")),
        (b"content-type", b"text/plain; charset=utf-8"),
        *[(k.encode(), v.encode()) for k, v in BASE_HEADERS.items()],
        (b"content-security-policy", APP_CSP.encode()),
        (b"x-frame-options", b"DENY"),
        (b"cache-control", b"no-store"),
    ]
    if cookie:
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b"log in first"})


def session_of(request: Request) -> Session:
    return request.state.session


async def csrf_guard(request: Request) -> None:
    """Every state-changing request carries the session's CSRF token (header or form field)."""
    if request.method not in UNSAFE_METHODS:
        return
    if getattr(request.state, "bearer", False):
        return  # a bearer token is never sent by a browser on its own, so it cannot be forged cross-site
    origin = request.headers.get("origin")
    if origin and origin != "null":
        # Browsers send "null" for our own forms too (Referrer-Policy: no-referrer), so only a named
        # foreign origin is refused here; the token below is the real check.
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1].lower() != host.lower():
            raise HTTPException(403, "cross-origin request refused")
    token = request.headers.get("x-csrf-token")
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    session: Session = request.state.session
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")
