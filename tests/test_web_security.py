"""The workbench's walls: bind policy, login, sessions, CSRF, throttling, headers, Host check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import web_case
from fastapi.testclient import TestClient
from helpers import app_routes
from web_case import item_id

from leaklens.errors import LeaklensError
from leaklens.web import server
from leaklens.web.app import create_app
from leaklens.web.security import APP_CSP, LoginThrottle

SECRET = "correct horse battery staple"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return web_case.build(tmp_path_factory.mktemp("websec"))


@pytest.fixture
def open_client(case) -> TestClient:
    return TestClient(create_app(case.root))


@pytest.fixture
def auth_app(case):
    return create_app(case.root, auth_token=SECRET)


def _login(client: TestClient, password: str = SECRET, next_: str = "/"):
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post(
        "/login", data={"password": password, "csrf_token": token, "next": next_}, follow_redirects=False
    )


# -- bind policy ----------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_non_loopback_without_auth_refuses_to_start(case, host):
    with pytest.raises(LeaklensError, match="without --auth"):
        server.run(case.root, host=host, port=8765, auth=None)


@pytest.mark.parametrize(
    "host,loop",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.8.0.1", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_detection(host, loop):
    assert server.is_loopback(host) is loop


def test_empty_auth_is_refused(case):
    with pytest.raises(LeaklensError):
        create_app(case.root, auth_token="  ")


# -- auth gate ------------------------------------------------------------------------------------
_routes = app_routes  # every router's routes (api and pages alone missed bulk, batch, jobs, audit, ...)


def _all_get_paths(app, some_item: str) -> list[str]:
    paths = []
    for route in _routes(app):
        methods = getattr(route, "methods", None) or set()
        if "GET" not in methods or route.path.startswith("/login"):
            continue
        paths.append(route.path.replace("{item_id}", some_item).replace("{tag}", "x").replace("{note_id}", "1"))
    return paths


def test_every_page_and_api_call_needs_a_session(case, auth_app):
    c = TestClient(auth_app)
    paths = _all_get_paths(auth_app, item_id(case, name="01-parent.eml"))
    assert (
        "/" in paths
        and "/api/search" in paths
        and "/items/{item_id}/raw".replace("{item_id}", item_id(case, name="01-parent.eml")) in paths
    )
    for path in paths:
        r = c.get(path, follow_redirects=False)
        if path.startswith("/api/") or path in ("/openapi.json",):
            assert r.status_code == 401, path
        else:
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login?next="), path
        assert "Printer budget" not in r.text
    assert c.get("/static/app.css").status_code == 200  # only public assets


def test_login_then_everything_opens(case, auth_app):
    c = TestClient(auth_app)
    r = _login(c, next_="/search?q=printer")
    assert r.status_code == 303 and r.headers["location"] == "/search?q=printer"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert c.get("/api/summary").status_code == 200
    assert "Printer budget" in c.get("/search?q=printer").text
    # Logging out ends the session.
    token = c.get("/api/session").json()["csrf_token"]
    c.post("/logout", data={"csrf_token": token})
    assert c.get("/api/summary").status_code == 401


def test_login_rotates_the_session_id(auth_app):
    c = TestClient(auth_app)
    c.get("/login")
    before = dict(c.cookies)
    _login(c)
    after = dict(c.cookies)
    assert before.keys() == after.keys() and before != after


def test_wrong_password_and_missing_csrf(auth_app):
    c = TestClient(auth_app)
    assert _login(c, password="guess").status_code == 401
    c.get("/login")
    r = c.post("/login", data={"password": SECRET}, follow_redirects=False)
    assert r.status_code == 403
    assert c.get("/api/summary").status_code == 401


def test_open_redirect_after_login_is_refused(auth_app):
    c = TestClient(auth_app)
    assert _login(c, next_="//evil.example/x").headers["location"] == "/"
    c2 = TestClient(auth_app)
    assert _login(c2, next_="https://evil.example/").headers["location"] == "/"


def test_failed_logins_are_throttled(case):
    app = create_app(case.root, auth_token=SECRET)
    c = TestClient(app)
    for _ in range(5):
        assert _login(c, password="nope").status_code == 401
    # Now even the right password waits.
    r = _login(c)
    assert r.status_code == 429
    assert "Try again in" in r.text
    assert c.get("/api/summary").status_code == 401
    app.state.guard.throttle.succeeded("testclient")
    assert _login(c).status_code == 303


def test_throttle_delay_grows_and_forgets():
    t = LoginThrottle(free=2, base_delay=10, cap=30, window=3600)
    t.failed("a")
    assert t.retry_after("a") == 0
    t.failed("a")  # the second free failure: from now on, each try waits
    assert 9 < t.retry_after("a") <= 10
    t.failed("a")
    assert 19 < t.retry_after("a") <= 20
    t.failed("a")
    assert 29 < t.retry_after("a") <= 30  # capped
    assert t.retry_after("b") == 0
    t.succeeded("a")
    assert t.retry_after("a") == 0


def test_bearer_token_for_scripts(auth_app):
    c = TestClient(auth_app)
    assert c.get("/api/summary", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200
    assert c.get("/api/summary", headers={"Authorization": "Bearer wrong"}).status_code == 401


# -- CSRF -----------------------------------------------------------------------------------------
def test_every_state_changing_route_requires_the_csrf_token(case, open_client):
    app = open_client.app
    some = item_id(case, name="01-parent.eml")
    unsafe = [
        (m, r.path)
        for r in _routes(app)
        for m in (getattr(r, "methods", None) or ())
        if m in ("POST", "PUT", "PATCH", "DELETE")
    ]
    assert len(unsafe) >= 8
    open_client.get("/")  # a session, but no token sent
    for method, path in unsafe:
        url = path.replace("{item_id}", some).replace("{tag}", "x").replace("{note_id}", "1")
        r = open_client.request(method, url, data={"tag": "x", "body": "x", "password": "x"})
        assert r.status_code == 403, (method, path, r.status_code)
        r = open_client.request(method, url, data={"tag": "x", "csrf_token": "forged"})
        assert r.status_code == 403, (method, path)
    assert open_client.get(f"/api/items/{some}").json()["tags"] == []


def test_csrf_token_from_another_session_is_refused(case, open_client):
    some = item_id(case, name="01-parent.eml")
    other = TestClient(open_client.app)
    stolen = other.get("/api/session").json()["csrf_token"]
    open_client.get("/")
    r = open_client.post(f"/api/items/{some}/tags", json={"tag": "x"}, headers={"X-CSRF-Token": stolen})
    assert r.status_code == 403


def test_foreign_origin_is_refused_even_with_token(case, open_client):
    some = item_id(case, name="01-parent.eml")
    token = open_client.get("/api/session").json()["csrf_token"]
    r = open_client.post(
        f"/api/items/{some}/tags", json={"tag": "x"}, headers={"X-CSRF-Token": token, "Origin": "http://evil.example"}
    )
    assert r.status_code == 403
    ok = open_client.post(f"/api/items/{some}/tags", json={"tag": "x"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    open_client.delete(f"/api/items/{some}/tags/x", headers={"X-CSRF-Token": token})


# -- headers and host -----------------------------------------------------------------------------
def test_security_headers_on_every_response(case, open_client, auth_app):
    some = item_id(case, name="01-parent.eml")
    responses = [
        open_client.get(u)
        for u in (
            "/",
            "/search?q=x",
            f"/items/{some}",
            "/api/summary",
            "/items/ffffffffffffffffffff",
            "/static/app.css",
            f"/items/{some}/raw",
            "/openapi.json",
        )
    ]
    responses.append(TestClient(auth_app).get("/api/summary"))
    responses.append(TestClient(auth_app).get("/", follow_redirects=False))
    for r in responses:
        h = r.headers
        assert h["x-content-type-options"] == "nosniff", r.url
        assert h["referrer-policy"] == "no-referrer", r.url
        assert "content-security-policy" in h, r.url
        assert h.get("x-frame-options") in ("DENY", "SAMEORIGIN"), r.url
    page = open_client.get("/")
    assert page.headers["content-security-policy"] == APP_CSP
    assert "frame-ancestors 'none'" in APP_CSP and "script-src 'self'" in APP_CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_host_header_is_checked_on_loopback(case):
    c = TestClient(
        create_app(case.root, allowed_hosts=server.allowed_hosts_for("127.0.0.1", 8000)),
        base_url="http://127.0.0.1:8000",
    )
    assert c.get("/").status_code == 200
    assert c.get("/", headers={"Host": "localhost:8000"}).status_code == 200
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: refused.
    assert c.get("/api/summary", headers={"Host": "attacker.example:8000"}).status_code == 400


def test_cli_serve_refuses_network_bind_without_auth(case, tmp_path):
    from typer.testing import CliRunner

    from leaklens.cli import app

    r = CliRunner().invoke(app, ["serve", "--case", str(case.root), "--host", "0.0.0.0"])
    assert r.exit_code != 0
    assert "without --auth" in (r.output + str(r.exception or ""))


def test_serve_rejects_bad_port(case):
    with pytest.raises(LeaklensError):
        server.run(Path(case.root), host="127.0.0.1", port=70000, auth=None)
