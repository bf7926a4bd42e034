"""The workbench's walls, route by route (issue 15): path traversal on every route that takes an id or
a name, security headers on every response (errors included), raw downloads that a browser never
renders, and the login gate on every state-changing route. Routes are read from the app itself, so a
new route is covered the day it is added."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import web_case
from fastapi.testclient import TestClient
from helpers import app_routes

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.web.app import create_app

SECRET = "walls-token"
# Never in a response: a system file, the case's own database, the server's source.
LEAKS = (b"root:x:0:0", b"SQLite format 3", b"from __future__", b"[Unit]")
HTML_DOC = b"<html><body><script>alert(1)</script><p>an attachment a browser would run</p></body></html>"
SVG_DOC = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
# A file name that would split the Content-Disposition header if it were copied raw.
EVIL_NAME = 'quote"\r\nX-Injected: 1; semi;.html'


@pytest.fixture(scope="module")
def walls_case(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("walls")
    pem, _ = web_case.make_key()
    dump = web_case.write_dump(root, pem)
    (dump / "page.html").write_bytes(HTML_DOC)
    (dump / "drawing.svg").write_bytes(SVG_DOC)
    (dump / EVIL_NAME).write_bytes(HTML_DOC)
    case = Case.open(root / "case", create=True)
    ingest(case, [dump], workers=1)
    case.close()
    return root / "case"


@pytest.fixture(scope="module")
def client(walls_case) -> TestClient:
    # raise_server_exceptions=False: an uncaught error is seen as the 500 a browser would get.
    return TestClient(create_app(walls_case), raise_server_exceptions=False)


def _ids(case_dir: Path) -> dict[str, str]:
    with Case.open(case_dir) as case:
        return {r["name"]: r["id"] for r in case.db.items("1=1", ())}


_routes = app_routes


def _get_routes(app) -> list:
    return [r for r in _routes(app) if "GET" in r.methods]


TRAVERSALS = [
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fcase.db",
    "..%252f..%252fcase.db",
    "..%5c..%5ccase.db",
    "....%2f%2f....%2f%2fetc%2fpasswd",
    "%c0%ae%c0%ae%2fcase.db",
    "%00",
    "x%00.png",
    "case.db%00.html",
    "%2fetc%2fpasswd",
    "blobs",
    "a" * 3000,
]


def _filled(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_path_traversal_on_every_route_with_a_parameter(client, walls_case):
    routes = [r for r in _get_routes(client.app) if "{" in r.path]
    assert {"/items/{item_id}", "/items/{item_id}/raw", "/entities/{kind}/{value:path}", "/jobs/{job_id}"} <= {
        r.path for r in routes
    }
    tried = 0
    for route in routes:
        for payload in TRAVERSALS:
            # Literal ../ reaches the app through the ASGI path as a client sent it (no normalising).
            for url in (_filled(route.path, payload), route.path.split("{")[0] + payload):
                r = client.get(url)
                tried += 1
                assert r.status_code < 500, (url, r.status_code, r.text[:200])
                assert r.status_code in (200, 400, 404, 405, 422), (url, r.status_code)
                assert not any(leak in r.content for leak in LEAKS), url
                if r.status_code == 200:
                    # Only a page that says nothing was found (a search of the text, an empty list).
                    assert "raw" not in url and "body.html" not in url, url
    assert tried >= len(routes) * len(TRAVERSALS)


def test_static_files_stay_in_their_folder(client):
    assert client.get("/static/app.css").status_code == 200
    for url in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py", "/static/..%2f..%2fcase.py",
                "/static/%00", "/static/..\\app.py"):  # fmt: skip
        r = client.get(url)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert not any(leak in r.content for leak in LEAKS), url


def _directives(csp: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: (d.strip().split(" ", 1) + [""])[1] for d in csp.split(";") if d.strip()}


def _assert_walls(r, what: str) -> None:
    h = r.headers
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("referrer-policy") == "no-referrer", what
    csp = _directives(h.get("content-security-policy", ""))
    assert csp, what
    script = csp.get("script-src", csp.get("default-src", ""))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script, what
    assert "frame-ancestors" in csp or h.get("x-frame-options") in ("DENY", "SAMEORIGIN"), what
    if "frame-ancestors" in csp:
        assert csp["frame-ancestors"] in ("'none'", "'self'"), what


def test_security_headers_on_every_route_and_every_error(client, walls_case):
    ids = _ids(walls_case)
    email, pdf = ids["01-parent.eml"], ids["ledger.pdf"]
    seen = 0
    for route in _get_routes(client.app):
        url = (
            route.path.replace("{item_id}", email)
            .replace("{page}", "1")
            .replace("{kind}", "email")
            .replace("{value:path}", "anne@horizon.example")
            .replace("{job_id}", "none")
            .replace("{tag}", "x")
            .replace("{note_id}", "1")
        )
        params = {"tag": "x"} if route.path == "/export" else None
        r = client.get(url, params=params)
        assert r.status_code < 500, (url, r.status_code)
        _assert_walls(r, url)
        seen += 1
    errors = [
        client.get("/items/ffffffffffffffffffff"),  # 404
        client.get("/api/items/ffffffffffffffffffff"),
        client.get(f"/items/{pdf}/pages/0.png"),  # 422
        client.get("/search?page=0"),
        client.get("/correspondents?after=yesterday"),  # 400
        client.put("/api/summary"),  # 405
        client.get("/no/such/page"),
    ]
    for r in errors:
        assert 400 <= r.status_code < 500, (r.url, r.status_code)
        _assert_walls(r, str(r.url))
    # A malformed cookie is no cookie: a fresh session, the same walls.
    _assert_walls(client.get("/api/summary", headers={"Cookie": "leaklens_x=\x7f;;;"}), "bad cookie")
    # The email HTML's own document: framed only by the workbench, and sandboxed.
    body = client.get(f"/items/{email}/body.html")
    assert "sandbox" in _directives(body.headers["content-security-policy"])
    assert seen >= 25


def test_host_refusal_and_login_redirect_carry_the_headers_too(walls_case):
    c = TestClient(create_app(walls_case, allowed_hosts=["127.0.0.1"]), base_url="http://127.0.0.1")
    _assert_walls(c.get("/", headers={"Host": "rebind.example"}), "host refused")
    gated = TestClient(create_app(walls_case, auth_token=SECRET))
    _assert_walls(gated.get("/", follow_redirects=False), "login redirect")
    _assert_walls(gated.get("/api/summary"), "401")


@pytest.mark.parametrize("name", ["page.html", "drawing.svg", "01-parent.eml", "ledger.pdf", "memo.docx", EVIL_NAME])
def test_raw_downloads_are_attachments_a_browser_never_renders(client, walls_case, name):
    ids = _ids(walls_case)
    r = client.get(f"/items/{ids[name]}/raw")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in _directives(r.headers["content-security-policy"])
    # The name cannot split the header: no CR/LF, no header of its own, quotes escaped away.
    assert "x-injected" not in r.headers
    disposition = r.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert re.fullmatch(r'attachment; filename="[^"]*"; filename\*=UTF-8\'\'[^"\s]*', disposition), disposition
    if name in ("page.html", "drawing.svg"):
        assert r.content in (HTML_DOC, SVG_DOC)  # the original bytes, untouched


def test_an_svg_is_never_drawn_as_a_scan_page(client, walls_case):
    r = client.get(f"/items/{_ids(walls_case)['drawing.svg']}/pages/1.png")
    assert r.status_code == 404


def test_exports_are_downloads(client, walls_case):
    email = _ids(walls_case)["01-parent.eml"]
    token = client.get("/api/session").json()["csrf_token"]
    assert (
        client.post(f"/api/items/{email}/tags", json={"tag": "walls"}, headers={"X-CSRF-Token": token}).status_code
        == 201
    )
    for fmt, ctype in (("json", "application/json"), ("csv", "text/csv"), ("zip", "application/zip")):
        r = client.get("/export", params={"tag": "walls", "format": fmt})
        assert r.status_code == 200, fmt
        assert r.headers["content-type"].startswith(ctype), fmt
        assert r.headers["content-disposition"].startswith("attachment;"), fmt
        _assert_walls(r, fmt)
    assert client.get("/export", params={"tag": "walls", "format": "html"}).status_code == 400


def test_with_auth_no_state_changing_route_runs_before_login(walls_case):
    app = create_app(walls_case, auth_token=SECRET)
    c = TestClient(app, raise_server_exceptions=False)
    email = _ids(walls_case)["01-parent.eml"]
    unsafe = [
        (m, r.path)
        for r in _routes(app)
        for m in r.methods
        if m in ("POST", "PUT", "PATCH", "DELETE") and r.path not in ("/login",)
    ]
    assert len(unsafe) >= 8
    for method, path in unsafe:
        url = _filled(path, "x").replace("/items/x", f"/items/{email}")
        r = c.request(method, url, data={"tag": "gate", "body": "gate", "q": "printer", "terms": "x"},
                      follow_redirects=False)  # fmt: skip
        assert r.status_code in (401, 303), (method, path, r.status_code)
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login"), (method, path)
    bearer = {"Authorization": f"Bearer {SECRET}"}
    assert "gate" not in c.get(f"/api/items/{email}", headers=bearer).json()["tags"]
    assert all(n["body"] != "gate" for n in c.get(f"/api/items/{email}/notes", headers=bearer).json())
    # Bearer attempts with a wrong token are throttled like logins.
    for _ in range(6):
        c.get("/api/summary", headers={"Authorization": "Bearer guess"})
    assert c.get("/api/summary", headers=bearer).status_code == 429


def test_csrf_on_every_state_changing_route_of_every_router(client, walls_case):
    """tests/test_web_security.py checks the api and pages routers; this reads every router (bulk
    tag and export, batch search, and whatever is added later)."""
    email = _ids(walls_case)["01-parent.eml"]
    unsafe = [(m, r.path) for r in _routes(client.app) for m in r.methods if m in ("POST", "PUT", "PATCH", "DELETE")]
    assert {"/search/bulk", "/search/batch"} <= {p for _, p in unsafe}
    token = client.get("/api/session").json()["csrf_token"]
    form = {"tag": "csrf", "body": "csrf", "q": "printer", "terms": "printer", "action": "tag", "everything": "1"}
    for method, path in unsafe:
        url = _filled(path, "x").replace("/items/x", f"/items/{email}")
        r = client.request(method, url, data=form, follow_redirects=False)
        assert r.status_code == 403, (method, path, r.status_code)
        # A page of another origin posting with a token it somehow has: still refused.
        r = client.request(method, url, data={**form, "csrf_token": token}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403, (method, path, r.status_code)
    assert "csrf" not in client.get(f"/api/items/{email}").json()["tags"]


def test_auth_bypass_attempts(walls_case):
    """With --auth: public prefixes, dot segments, token spellings and forged sessions open nothing."""
    app = create_app(walls_case, auth_token=SECRET)
    c = TestClient(app, raise_server_exceptions=False)
    email = _ids(walls_case)["01-parent.eml"]
    secret_bits = (b"Printer budget", b"printer", email.encode())
    paths = [
        "/static/../api/summary",
        "/static/..%2fapi%2fsummary",
        "/static/%2e%2e/items/" + email + "/raw",
        "/login/../api/summary",
        "/login/..%2f..%2fapi/summary",
        "/loginx",
        "/favicon.ico/../api/summary",
        "/api/summary/",
        "//api/summary",
        "/API/summary",
        "/api/summary?token=" + SECRET,
        "/api/summary%00",
        "/items/" + email + "/raw?password=" + SECRET,
    ]
    for path in paths:
        r = c.get(path, follow_redirects=False)
        assert r.status_code in (303, 307, 400, 401, 404), (path, r.status_code)
        assert not any(bit in r.content for bit in secret_bits), path
    for header in (
        {"Authorization": f"Basic {SECRET}"},
        {"Authorization": f"Token {SECRET}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {SECRET[:-1]}"},
        {"Authorization": f"Bearer {SECRET}x"},
        {"X-Forwarded-For": "127.0.0.1"},
        {"Cookie": f"{app.state.guard.cookie}=" + "A" * 43},  # a forged session id
        {"Cookie": "leaklens=1; authenticated=true"},
    ):
        r = TestClient(app, raise_server_exceptions=False).get("/api/summary", headers=header)
        assert r.status_code in (401, 429), (header, r.status_code)
    assert c.get("/api/summary", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200
