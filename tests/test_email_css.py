"""An email's CSS cannot take its content out of the flow (issue 16): no fixed, sticky or absolute
boxes pinned over the frame, no z-index, transforms or negative margins, however it is spelled."""

from __future__ import annotations

import re

import pytest

from leaklens.web.sanitize import clean_css, sanitise_html


@pytest.mark.parametrize(
    "css",
    [
        "position:fixed;top:0;left:0",
        "POSITION : STICKY",
        "position: absolute !important",
        "position/**/:/**/fixed",
        "pos\\ition: fixed",
        "position: var(--p)",
        ".badge { position: fixed } .x{position:relative; top:-900px}",
    ],
)
def test_no_box_leaves_the_flow(css):
    out = clean_css(css)
    values = re.findall(r"(?<![-\w])position\s*:\s*([^;}]*)", out, re.I)
    assert values and all(v.strip() == "static" for v in values), out


def test_stacking_and_moving_are_as_if_never_written():
    out = clean_css("z-index: 9999; transform: translate(-40px, -80px); inset: 0; offset-path: path('M0 0')")
    assert out.count("initial") == 4 and "9999" not in out and "translate" not in out


def test_negative_margins_become_zero_and_others_stay():
    assert clean_css("margin: -500px 4px -.5em 0") == "margin: 0 4px 0 0"
    assert clean_css("margin-top: calc(0px - 500px)") == "margin-top: 0"
    assert clean_css("margin-left: 12px") == "margin-left: 12px"


def test_ordinary_presentation_is_left_alone():
    css = "color: #333; background-position: 0 0; font: 14px/1.4 Arial; border-left: 3px solid red"
    assert clean_css(css) == css


def test_a_fake_badge_in_style_and_attribute_is_neutralised():
    html = sanitise_html(
        '<style>.ok{position:fixed;top:0;z-index:2147483647}</style>'
        '<div class="ok" style="position:absolute;top:0;right:0;z-index:99">✓ VERIFIED</div><p>text</p>'
    )
    assert "fixed" not in html and "absolute" not in html and "2147483647" not in html
    assert "✓ VERIFIED" in html  # the leak's content is shown, only not where it wanted to be


def test_control_bytes_in_html_are_shown_as_control_pictures():
    assert sanitise_html("<p>a\x00b\x1bc</p>") == "<p>a\u2400b\u241bc</p>"


def test_the_emails_important_rules_cannot_outrank_the_frames():
    from leaklens.web.sanitize import FRAME_CSS

    assert "important" not in clean_css("color: red !important; width: 10px ! IMPORTANT").lower()
    assert "position:static!important" in FRAME_CSS.replace(" ", "")
