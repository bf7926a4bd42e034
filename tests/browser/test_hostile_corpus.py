"""The XSS and remote-load corpus (tests/hostile_web_corpus.py) planted in a real case and every page
where it shows opened in Chromium: no script of the corpus runs, no dialog opens, no request leaves the
local server, no page navigates away.

Each run is made twice: with every wall (the templates' escaping, the sanitiser, the CSP headers and
the iframe sandbox), and with Chromium told to ignore CSP (`bypass_csp`), so that the escaping and
the sanitiser are shown to hold on their own rather than hidden behind the CSP.
"""

from __future__ import annotations

import base64
import html
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import hostile_web_corpus as corpus
import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass
class HostileCase:
    root: Path
    emails: list[str]
    others: list[str]  # attachments and documents: the text view, the metadata table
    report: Path


@pytest.fixture(scope="module")
def hostile_case(tmp_path_factory) -> HostileCase:
    from leaklens.case import Case
    from leaklens.ingest.walker import ingest
    from leaklens.report.html_report import write_html
    from leaklens.steps import Run, run_steps
    from leaklens.verify.case_verify import verify_case

    root = tmp_path_factory.mktemp("hostile-corpus")
    planted = corpus.write_dump(root)
    case = Case.open(root / "case", create=True)
    try:
        ingest(case, [planted.dump], workers=1)
        verify_case(case, workers=1)
        run_steps(Run(case, workers=1, options={"ocr": False}), ("texts",))  # entities: addresses, URLs
        rows = list(case.db.items("1=1", ()))
        emails = [r["id"] for r in rows if r["kind"] == "email"]
        others = [r["id"] for r in rows if r["kind"] != "email" and r["depth"] > 0 or r["kind"] == "document"]
        assert len(emails) == len(corpus.VECTORS)
        report = root / "report.html"
        with report.open("w", encoding="utf-8") as out:
            write_html(case, out)
    finally:
        case.close()
    return HostileCase(root / "case", emails, sorted(set(others)), report)


@pytest.fixture(scope="module")
def hostile_live(request, hostile_case):
    # The browser conftest's server class (its module is registered under its path, not importable by
    # a name of its own: tests/conftest.py is `conftest` too).
    plugin = request.config.pluginmanager.get_plugin(str(Path(__file__).with_name("conftest.py")))
    with plugin.LiveServer(hostile_case.root) as server:
        _annotate(server.url)
        yield server


def _annotate(base: str) -> None:
    """Notes and tags made through the API as a user makes them, so the vectors reach the notes, the
    tags page and the audit log (which records web actions with their values)."""
    with httpx.Client(base_url=base, timeout=30) as c:
        token = c.get("/api/session").json()["csrf_token"]
        first = c.get("/api/search", params={"q": "kind:email hostile", "per_page": 1}).json()["hits"][0]["id"]
        for v in corpus.all_vectors()[:30]:
            r = c.post(f"/api/items/{first}/notes", json={"body": v}, headers={"X-CSRF-Token": token})
            assert r.status_code == 201, r.text
        # Tags take letters, digits, spaces and . - / + & ' only: what of a vector a tag can hold.
        for tag in ("x' onmouseover 'y", "x&lt script &gt", "a/../../etc/passwd", "x'+alert+'", "x&amp & 'q'"):
            r = c.post(f"/api/items/{first}/tags", json={"tag": tag}, headers={"X-CSRF-Token": token})
            assert r.status_code == 201, r.text


@dataclass
class Watch:
    """What the corpus managed to do, page by page."""

    origin: str
    report: str
    fired: list[tuple[int, str]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    navigations: list[tuple[str, str]] = field(default_factory=list)
    visited: int = 0

    def allowed(self, url: str) -> bool:
        return url.startswith(self.origin + "/") or url == self.report or url.startswith(("data:", "about:"))

    def problems(self) -> dict:
        found = {
            "scripts that ran (vector, frame)": self.fired,
            "dialogs": self.dialogs,
            "requests beyond the local server": self.outside,
            "popups": self.popups,
            "navigations away (expected, got)": self.navigations,
        }
        return {k: v for k, v in found.items() if v}


def _context(browser, watch: Watch, *, bypass_csp: bool):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)

    def fired(source, n):  # noqa: ANN001 - Playwright's binding signature
        watch.fired.append((int(n), source["frame"].url))

    # In every frame, before any of its scripts: a vector that runs says so, whatever else it does.
    context.expose_binding("__xss", fired)

    def gate(route):  # noqa: ANN001
        if watch.allowed(route.request.url):
            route.continue_()
        else:
            watch.outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    # Any further page is a popup the corpus opened (window.open, target=_blank clicked).
    context.on("page", lambda p: watch.popups.append(p.url) if p.opener() is not None else None)
    page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
    return context, page


@pytest.fixture(scope="module")
def watched_context(browser, hostile_live, hostile_case):
    """Chromium ignoring CSP: what the escaping and the sanitiser hold on their own. Bypassing only
    removes a wall, so a page clean here is clean a fortiori with the CSP on."""
    watch = Watch(hostile_live.url, hostile_case.report.as_uri())
    context, page = _context(browser, watch, bypass_csp=True)
    yield page, watch
    context.close()


@pytest.fixture
def watched(watched_context):
    """The shared page, with what an earlier test saw forgotten: each test reports its own."""
    page, watch = watched_context
    for seen in (watch.fired, watch.dialogs, watch.outside, watch.popups, watch.navigations):
        seen.clear()
    return page, watch


def _visit(page, watch: Watch, url: str, *, interact: bool = True) -> None:
    page.goto(url, wait_until="load")
    watch.visited += 1
    # The email's iframe loads lazily: bring each into view and let it load (its remote loads count).
    for frame_el in page.locator("iframe").all():
        frame_el.scroll_into_view_if_needed()
        frame = frame_el.element_handle().content_frame()
        if frame is not None:
            frame.wait_for_load_state("load")
    if interact:
        # Hover and click what a reader would (a link's former target, a hover-covering block), where
        # the email's HTML is the page itself (the HTML view, the report): handlers that wait for a
        # user must find nothing either. In an item page's iframe the sandbox stops them anyway, and
        # the workbench's own links navigate, as they should, and are not clicked.
        page.mouse.move(640, 450)
        if url.endswith("/body.html"):
            for link in page.locator("a").all()[:10]:
                try:
                    if link.is_visible():
                        link.click(timeout=500, no_wait_after=True, force=True)
                except Exception:  # hidden or detached: nothing to click
                    pass
    # A meta refresh or a late handler gets its chance (longer where the email's HTML is shown).
    page.wait_for_timeout(150 if interact else 30)
    if page.url.split("#")[0] != url.split("#")[0]:
        watch.navigations.append((url, page.url))


def _check(watch: Watch) -> None:
    assert watch.problems() == {}, watch.problems()


def _vector_of(text: str) -> str:
    m = re.search(r"hostile-(\d+)", text)
    return m.group(1) if m else "?"


def test_overview_pages(watched, hostile_live):
    page, watch = watched
    base = hostile_live.url
    for path in (
        "/",
        "/search",
        "/search?q=hostile",
        "/search?q=hostile&page=2",
        "/search?q=hostile&page=3",
        "/search?q=hostile&page=4",
        "/search?q=hostile&sort=date",
        "/search?q=kind:attachment",
        "/search?q=kind:document",
        "/correspondents",
        "/tags",
        "/audit",
        "/entities",
        "/phishing",
        "/spread",
        "/jobs",
    ):
        _visit(page, watch, base + path)
        assert "Internal Server Error" not in page.content(), path
    # Every subject of the corpus was on a search page: the escaping held for all of them.
    _check(watch)


def test_entity_pages(watched, hostile_live):
    page, watch = watched
    _visit(page, watch, hostile_live.url + "/entities", interact=False)
    links = [a.get_attribute("href") for a in page.locator("a[href^='/entities/']").all()][:25]
    assert links, "the corpus's addresses and URLs give entities"
    for href in links:
        _visit(page, watch, hostile_live.url + href)
    _check(watch)


def test_every_email_page_and_its_html_view(watched, hostile_live, hostile_case):
    page, watch = watched
    sources = 0
    for item in hostile_case.emails:
        _visit(page, watch, f"{hostile_live.url}/items/{item}", interact=False)
        # The sanitised source, opened as a reader opens it.
        summary = page.locator("summary", has_text="Sanitised HTML source")
        if summary.count():
            summary.first.click()
            sources += 1
        # The HTML view on its own, as a reader opening the frame in a tab would see it: without the
        # CSP (this context) and outside the iframe's sandbox, the sanitiser is the only wall.
        _visit(page, watch, f"{hostile_live.url}/items/{item}/body.html")
    assert sources == len(corpus.VECTORS)
    _check(watch)


def test_attachments_documents_and_metadata(watched, hostile_live, hostile_case):
    page, watch = watched
    assert len(hostile_case.others) >= len(corpus.VECTORS) + len(corpus.VECTORS) // 3
    for item in hostile_case.others:
        _visit(page, watch, f"{hostile_live.url}/items/{item}", interact=False)
    _check(watch)


def test_every_vector_as_a_search_query(watched, hostile_live):
    page, watch = watched
    for v in corpus.all_vectors():
        _visit(page, watch, hostile_live.url + "/search?q=" + urllib.parse.quote(v), interact=False)
    # And typed into the box, as a user pastes it.
    _visit(page, watch, hostile_live.url + "/search", interact=False)
    page.locator("#q").fill(corpus.vector(5))
    page.locator("#q").press("Enter")
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)
    _check(watch)


def test_batch_search_of_every_vector(watched, hostile_live):
    page, watch = watched
    _visit(page, watch, hostile_live.url + "/search/batch", interact=False)
    page.locator("#terms").fill("\n".join(v.replace("\x00", "") for v in corpus.all_vectors()))
    page.locator("form.batch-form button[type=submit], form.batch-form button").first.click()
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.url.startswith(hostile_live.url + "/search/batch")
    _check(watch)


def test_offline_html_report(watched, hostile_case):
    page, watch = watched
    url = hostile_case.report.as_uri()
    _visit(page, watch, url)
    text = page.content()
    assert "hostile-" in text  # the corpus is in the report, as text
    _check(watch)


def test_with_every_wall_as_served(browser, hostile_live, hostile_case):
    """The workbench as a journalist's Chromium gets it, CSP on: the overview, email pages and their
    HTML views, and the offline report."""
    watch = Watch(hostile_live.url, hostile_case.report.as_uri())
    context, page = _context(browser, watch, bypass_csp=False)
    try:
        base = hostile_live.url
        for path in ("/", "/search?q=hostile", "/correspondents", "/tags", "/audit", "/entities"):
            _visit(page, watch, base + path)
        for item in hostile_case.emails[::8]:
            _visit(page, watch, f"{base}/items/{item}")
            _visit(page, watch, f"{base}/items/{item}/body.html")
        _visit(page, watch, hostile_case.report.as_uri())
    finally:
        context.close()
    _check(watch)


def _detected(watch: Watch) -> set[int]:
    """The vectors the watch saw act: a marker call, or a request for the vector's own address."""
    seen = {n for n, _ in watch.fired}
    for u in watch.outside:
        m = re.search(r"/v(\d+)|//(\d+)\.evil\.test", u)
        if m:
            seen.add(int(m.group(1) or m.group(2)))
    return seen


def _set_content_each(context, watch: Watch, markups: list[str]) -> None:
    for markup in markups:
        # A page each: a frame that calls its parent while the page is reused can close the page
        # under Playwright (seen with the srcdoc vector).
        page = context.new_page()
        page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
        page.set_content(markup, wait_until="load")
        page.mouse.move(640, 450)
        for link in page.locator("a, button").all()[:100]:
            try:
                if link.is_visible():
                    link.click(timeout=300, no_wait_after=True, force=True)
            except Exception:  # hidden or detached: nothing to click
                pass
        page.wait_for_timeout(60)
        page.close()


# One vector of each family, for the control below: each must be seen acting when nothing stops it.
CONTROL = [
    "<script>{js}</script>",
    "<ScRiPt>{js}</sCrIpT>",
    '<img src=x onerror="{js}">',
    '<img src="x" onerror="&#95;&#95;xss&#40;{n}&#41;">',
    '<svg onload="{js}"></svg>',
    '<details open ontoggle="{js}">x</details>',
    '<input autofocus onfocus="{js}">',
    '<a href="javascript:{js}">js link</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;{js}">entity js link</a>',
    '<iframe srcdoc="&lt;script&gt;parent.__xss({n})&lt;/script&gt;"></iframe>',
    '<img src="{url}.gif">',
    '<img srcset="{url}.png 1x, {url}-2.png 2x">',
    '<style>@import url("{url}.css");</style>',
    "<div style=\"background-image:url('{url}.png')\">bg</div>",
    '<base href="{url}/"><img src="relative.png">',
    '<link rel="stylesheet" href="{url}.css">',
    '<meta http-equiv="refresh" content="0;url={url}">',
    '<form action="{url}" method="post"><input name="password"><button>send</button></form>',
]


def test_the_watch_sees_the_raw_corpus_act(browser, tmp_path):
    """The harness can fail: one vector of each family, unsanitised on a page with no CSP, is seen acting."""
    watch = Watch("http://127.0.0.1:1", (tmp_path / "none.html").as_uri())
    context, _ = _context(browser, watch, bypass_csp=True)
    wanted = [corpus.VECTORS.index(v) for v in CONTROL]
    try:
        _set_content_each(context, watch, [corpus.vector(n) for n in wanted])
    finally:
        context.close()
    assert set(wanted) - _detected(watch) == set()


def test_the_sanitiser_alone_in_chromium(browser, tmp_path):
    """Every vector through sanitise_html, all on one page with no CSP and no sandbox: nothing acts."""
    from leaklens.web.sanitize import sanitise_html

    watch = Watch("http://127.0.0.1:1", (tmp_path / "none.html").as_uri())
    context, _ = _context(browser, watch, bypass_csp=True)
    try:
        fragments = [f'<section id="v{n}">{sanitise_html(v)}</section>' for n, v in enumerate(corpus.all_vectors())]
        _set_content_each(context, watch, ["".join(fragments)])
        assert watch.fired == [] and watch.outside == []
        # And each on a page of its own, for the families of the control.
        _set_content_each(context, watch, [sanitise_html(corpus.vector(corpus.VECTORS.index(v))) for v in CONTROL])
    finally:
        context.close()
    _check(watch)


def test_the_corpus_is_large_and_distinct():
    vs = corpus.all_vectors()
    assert len(vs) >= 60 and len(set(vs)) == len(vs)
    # Every vector either calls the marker or loads a remote address (itself, entity-decoded, or in
    # its base64 data: URL): none can succeed unobserved.
    for v in vs:
        forms = [v, html.unescape(v)] + [
            base64.b64decode(b).decode() for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", v)
        ]
        assert any("__xss(" in f or corpus.HOST in f or "127.0.0.1:9" in f for f in forms), v
