"""html_to_text: hostile HTML in, plain text without markup out."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill.pipeline.sanitise import html_to_text

# A tag, comment, doctype or processing instruction, as a browser would start parsing one.
TAG_RE = re.compile(r"<[A-Za-z/!?]")

# (payload, expected plain text). Every payload is real markup: nothing of it may survive but
# the text a reader would see.
XSS_CORPUS = [
    ("<script>alert(1)</script>", ""),
    ("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>ok", "ok"),
    ("<scr<script>ipt>alert(1)</script>", "ipt>alert(1)"),
    ('<img src=x onerror="alert(1)">', ""),
    ("<img src=x onerror=alert(1)", ""),  # unterminated tag
    ("<IMG SRC=javascript:alert('XSS')>caption", "caption"),
    ("<svg onload=alert(1)>", ""),
    ("<svg><script>alert(1)</script><text>svg text</text></svg>after", "after"),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""),
    ('<a href="javascript:alert(1)">click me</a>', "click me"),
    ('<a href="jav&#x09;ascript:alert(1)">tab trick</a>', "tab trick"),
    ('<iframe src="javascript:alert(1)">fallback</iframe>end', "end"),
    ("<iframe srcdoc='<script>alert(1)</script>'></iframe>", ""),
    ('<object data="data:text/html,<script>alert(1)</script>">alt</object>x', "x"),
    ("<embed src=javascript:alert(1)>", ""),
    ("<style>body{background:url(javascript:alert(1))}</style>styled", "styled"),
    ('<div style="width:expression(alert(1))">expr</div>', "expr"),
    ("<!-- <script>alert(1)</script> -->visible", "visible"),
    ("<!--[if IE]><script>alert(1)</script><![endif]-->ie", "ie"),
    ("<![CDATA[<script>alert(1)</script>]]>after", "alert(1)]]>after"),
    ("<noscript><img src=x onerror=alert(1)></noscript>ns", "ns"),
    ("<textarea><img src=x onerror=alert(1)></textarea>ta", "ta"),
    ("<title><img src=x onerror=alert(1)></title>ti", "ti"),
    ("<xmp><img src=x onerror=alert(1)></xmp>xm", "xm"),
    ("<noembed><img src=x onerror=alert(1)></noembed>ne", "ne"),
    ("<template><img src=x onerror=alert(1)></template>tp", "tp"),
    ("<plaintext><img src=x onerror=alert(1)>", ""),
    ("<body onload=alert(1)>body", "body"),
    ('<form action="javascript:alert(1)"><input value="v"><button>go</button></form>', "go"),
    ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">meta', "meta"),
    ("<base href=javascript:alert(1)//>base", "base"),
    ('<details open ontoggle="alert(1)"><summary>more</summary>hidden</details>', "more hidden"),
    ("<video><source onerror=alert(1)></video>", ""),
    ("<marquee onstart=alert(1)>scroll</marquee>", "scroll"),
    ('<p/onmouseover="alert(1)">slash</p>', "slash"),
    ("<<script>alert(1)//<</script>", "<"),
    ("<?xml-stylesheet href='javascript:alert(1)'?>pi", "pi"),
]


@pytest.mark.parametrize(("payload", "expected"), XSS_CORPUS)
def test_real_markup_never_survives(payload: str, expected: str) -> None:
    text = html_to_text(payload)
    assert text == expected
    assert not TAG_RE.search(text)


def test_entity_encoded_markup_is_displayed_text() -> None:
    # Decided: the author *showed* these characters to readers, so we keep them as text. The
    # output is plain text; whoever renders it escapes it, and it is never parsed as HTML here.
    assert html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;") == "<script>alert(1)</script>"
    assert html_to_text("use &lt;b&gt; for bold") == "use <b> for bold"
    # Decoded exactly once: double-encoded stays one level encoded.
    assert html_to_text("&amp;lt;script&amp;gt;") == "&lt;script&gt;"


def test_plain_text_passes_through() -> None:
    assert html_to_text("AT&T said 1 < 2 and 3 > 2") == "AT&T said 1 < 2 and 3 > 2"
    assert html_to_text("Café “quoted” — €5 😀") == "Café “quoted” — €5 😀"
    assert html_to_text("") == ""


def test_entities_are_decoded() -> None:
    assert html_to_text("Caf&eacute;&nbsp;&amp;&#32;Bar &#x2014; &#8364;5") == "Café & Bar — €5"
    assert html_to_text("broken &#0; and &#xD800; refs") == "broken \ufffd and \ufffd refs"


def test_blocks_separate_words_and_whitespace_collapses() -> None:
    assert html_to_text("<p>one</p><p>two</p><br>three<li>four</li>") == "one two three four"
    assert html_to_text("  many \n\t spaces&nbsp;&nbsp;here  ") == "many spaces here"
    assert html_to_text("in<b>line</b> stays together") == "inline stays together"


def test_control_characters_and_broken_unicode_are_removed() -> None:
    assert html_to_text("nul\x00byte and \x1b[31mansi\x7f") == "nulbyte and [31mansi"
    assert html_to_text("lone \ud800 surrogate") == "lone ? surrogate"
    assert html_to_text("&#1;&#x7f;ok") == "ok"


def test_huge_input_does_not_crash() -> None:
    chunk = "<p>word <b>bold</b> &amp; <script>x()</script></p>"
    text = html_to_text(chunk * 20_000)  # about 1 MB
    assert text.startswith("word bold & word bold &")
    assert "<" not in text
    deep = "<div>" * 5_000 + "deep" + "</div>" * 5_000
    assert html_to_text(deep) == "deep"


_TAGS = st.sampled_from(
    ["script", "style", "img", "svg", "a", "p", "iframe", "b", "div", "textarea", "noscript",
     "math", "title", "object", "xmp", "template", "input", "br"]
)  # fmt: skip
_ATTRS = st.sampled_from(["onerror", "onload", "href", "src", "style", "x"])
_SAFE_TEXT = st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=20)
_ATTR_VALUE = st.text(alphabet="<>\"'=/ abc:()", max_size=15)


@st.composite
def _markup(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        tag = draw(_TAGS)
        attrs = " ".join(
            f'{draw(_ATTRS)}="{html.escape(draw(_ATTR_VALUE))}"'
            for _ in range(draw(st.integers(0, 2)))
        )
        parts.append(f"<{tag} {attrs}>{draw(_SAFE_TEXT)}")
        if draw(st.booleans()):
            parts.append(f"</{tag}>")
        parts.append(draw(_SAFE_TEXT))
    return "".join(parts)


@settings(max_examples=300, deadline=None, database=None)
@given(_markup())
def test_property_real_markup_leaves_no_angle_brackets(markup: str) -> None:
    # Text without <, > or & cannot produce them; so any left would be markup leaking through.
    text = html_to_text(markup)
    assert "<" not in text
    assert ">" not in text


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from(" \n\t"))
)
def test_property_escaped_text_round_trips(value: str) -> None:
    # Plain text written as HTML comes back as itself, whitespace collapsed.
    assert html_to_text(html.escape(value)) == re.sub(r"\s+", " ", value).strip()
