"""A hostile web page open in the journalist's own Chromium, beside the workbench: its forms and
fetches aimed at the workbench's state-changing routes reach it and are refused (no CSRF token, a
foreign Origin; the session cookie is SameSite=Strict besides), and nothing changes in the case."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.browser

ATTACKER = "http://attacker.test"


def _attack_page(target: str, item: str) -> str:
    forms = {
        "tag": (f"{target}/items/{item}/tags", {"tag": "pwned"}),
        "note": (f"{target}/items/{item}/notes", {"body": "pwned"}),
        "bulk": (f"{target}/search/bulk", {"q": "printer", "everything": "1", "action": "tag", "tag": "pwned"}),
        "logout": (f"{target}/logout", {}),
    }
    html = ["<!doctype html><html><body><h1>Totally unrelated page</h1>"]
    for name, (action, fields) in forms.items():
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
        html.append(f'<form id="{name}" method="post" action="{action}" target="f-{name}">{inputs}</form>')
        html.append(f'<iframe name="f-{name}"></iframe>')
    html.append(
        "<script>"
        "for (const f of document.forms) f.submit();"
        # A JSON call dressed as a simple request (no preflight), and one in cors mode.
        f"fetch('{target}/api/items/{item}/tags', {{method: 'POST', mode: 'no-cors', credentials: 'include',"
        " headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({tag: 'pwned'})});"
        f"fetch('{target}/api/items/{item}/tags', {{method: 'POST', credentials: 'include',"
        " headers: {'Content-Type': 'application/json'}, body: JSON.stringify({tag: 'pwned'})}).catch(() => 0);"
        "</script></body></html>"
    )
    return "".join(html)


def test_a_foreign_page_cannot_change_the_case(browser, live):
    item = httpx.get(live.url + "/api/search", params={"q": "printer budget", "per_page": 1}).json()["hits"][0]["id"]
    context = browser.new_context()
    posts: list[tuple[str, int]] = []
    arrived: list[str] = []

    def gate(route):  # noqa: ANN001
        url = route.request.url
        if url.startswith(ATTACKER + "/"):
            route.fulfill(status=200, content_type="text/html", body=_attack_page(live.url, item))
        elif url.startswith(live.url + "/"):
            if route.request.method == "POST":
                # Sent on by the test itself, to read the server's answer as the page got it.
                response = route.fetch()
                arrived.append(url)
                posts.append((url, response.status))
                route.fulfill(response=response)
            else:
                route.continue_()
        else:
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    try:
        page.goto(live.url + "/")  # the journalist's session, cookie set
        page.goto(ATTACKER + "/innocent")
        page.wait_for_timeout(1500)
        assert len(arrived) >= 4, arrived  # the attack did reach the server
        refused = [s for u, s in posts if u.startswith(live.url)]
        assert refused and all(s == 403 for s in refused), posts
        # The journalist's own tab is still logged in to its session and the case is unchanged.
        page.goto(live.url + f"/items/{item}")
        assert page.locator("#notes").count() == 1
    finally:
        context.close()
    detail = httpx.get(f"{live.url}/api/items/{item}").json()
    assert "pwned" not in detail["tags"]
    assert all("pwned" not in n["body"] for n in detail.get("notes", []))
    assert "pwned" not in httpx.get(live.url + "/api/tags").text
