"""Leak text as a reader sees it (issue 16): hidden characters visible as markers, values isolated,
download names without them; the stored value itself never changed."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html
from markupsafe import Markup

from leaklens.web.export import safe_name
from leaklens.web.leaktext import is_hidden, leak, leak_plain, marker_name, strip_hidden
from leaklens.web.render import highlight

RLO_NAME = "Rapport_\u202efdp.exe.docx"


def _parse(markup: str):
    return lxml_html.fragment_fromstring(str(markup), create_parent="div")


def test_a_right_to_left_override_is_a_marker_inside_an_isolate():
    out = _parse(leak(RLO_NAME))
    (bdi,) = out.xpath("bdi")
    assert "\u202e" not in bdi.text_content()  # it does not act: it is not in the page at all
    (marker,) = bdi.xpath("span[@class='hidden-char']")
    assert marker.text == "RLO" and marker.get("title").startswith("U+202E RIGHT-TO-LEFT OVERRIDE")
    assert bdi.text_content() == "Rapport_RLOfdp.exe.docx"


@pytest.mark.parametrize(
    "ch,name",
    [("\x00", "NUL"), ("\x1b", "ESC"), ("\u200b", "ZWSP"), ("\u2066", "LRI"), ("\u2069", "PDI"),
     ("\ufeff", "BOM"), ("\u3164", "U+3164"), ("\U000e0041", "U+E0041"), ("\x85", "U+0085")],
)
def test_every_hidden_character_is_shown(ch, name):
    assert is_hidden(ch) and marker_name(ch) == name
    out = _parse(leak(f"a{ch}b"))
    assert out.xpath("string(bdi/span[@class='hidden-char'])") == name
    assert ch not in out.text_content()


def test_markup_in_leak_text_is_escaped_and_plain_text_left_alone():
    assert str(leak("<script>x</script> & co")) == "&lt;script&gt;x&lt;/script&gt; &amp; co"
    assert leak(None) == "" and str(leak(42)) == "42"
    rendered = Markup("<b>app</b>")
    assert leak(rendered) is rendered  # the app's own markup passes through


def test_right_to_left_letters_are_isolated_without_markers():
    out = _parse(leak("محمد العلي"))
    assert out.xpath("bdi/text()") == ["محمد العلي"] and not out.xpath("//span")


def test_a_body_keeps_its_lines_and_tabs_but_not_its_nul():
    shown = str(leak("l1\nl2\tx\x00y\r\n", True))
    assert shown.endswith("y\r\n</bdi>") and _parse(shown).text_content() == "l1\nl2\txNULy\n"


def test_plain_form_for_titles_and_attributes():
    assert leak_plain(RLO_NAME) == "Rapport_[RLO]fdp.exe.docx"
    assert leak_plain("Subject\x00cut") == "Subject[NUL]cut"
    assert leak_plain("محمد") == "\u2068محمد\u2069"  # first-strong isolate: cannot turn what follows
    assert leak_plain("plain") == "plain" and leak_plain(None) == ""


def test_download_names_lose_hidden_characters():
    assert strip_hidden(RLO_NAME) == "Rapport_fdp.exe.docx"
    assert safe_name(RLO_NAME) == "Rapport_fdp.exe.docx"
    assert safe_name("a\u200bb\u2066c.pdf") == "abc.pdf"
    assert safe_name("../\x00etc/passwd") == "_etc_passwd"  # no folder, no leading dot
    assert safe_name("\u202e") == "item"


def test_a_snippet_is_one_isolate_with_its_marks_and_markers():
    out = _parse(highlight("x \x02vi\u202erement\x03 y <b>"))
    (bdi,) = out.xpath("bdi")
    assert bdi.xpath("string(mark)") == "viRLOrement" and bdi.xpath("string(mark/span)") == "RLO"
    assert bdi.text_content() == "x viRLOrement y <b>" and not out.xpath("//b")


def test_chart_labels_show_hidden_characters_as_markers():
    from leaklens.web.charts import count_bars_svg

    svg = count_bars_svg([(RLO_NAME, 3, None), ("محمد", 1, None)], title="Senders")
    assert "\u202e" not in svg and "Rapport_[RLO]fdp.exe.docx" in svg
    assert "\u2068محمد\u2069" in svg  # isolated: cannot turn the label's count around
