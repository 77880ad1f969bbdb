"""HTML from strangers, turned into plain text that carries no markup.

Feeds, web pages and some APIs hand us HTML. We store plain text only, and every interface
escapes it when showing it; this module is where the HTML stops. The rule is the one a browser
uses for ``textContent``: tags go, their text stays, entities are decoded exactly once.

Consequence, decided on purpose: markup that was *written as text* (``&lt;script&gt;`` in the
HTML) comes out as the visible characters ``<script>``, because that is what the author showed
their readers. Markup that was real (``<script>``, ``<img onerror=…>``) never survives, neither as
a tag nor as text.
"""

from __future__ import annotations

import html
import re
from typing import Final

import nh3

__all__ = ["html_to_text"]

# Elements dropped with everything inside them. Beyond script and style this must hold every
# element whose content the HTML parser reads as raw text (textarea, title, xmp, noscript ...):
# otherwise their inner markup comes back as escaped text and unescaping would revive it.
DROPPED_WITH_CONTENT: Final = frozenset(
    {
        "script",
        "style",
        "template",
        "noscript",
        "noembed",
        "noframes",
        "iframe",
        "object",
        "textarea",
        "title",
        "xmp",
        "plaintext",
        "svg",
        "math",
    }
)

# Block-level elements separate words: "<p>a</p><p>b</p>" reads "a b", not "ab".
_BLOCK_TAG_RE: Final = re.compile(
    r"<\s*/?\s*(?:address|article|aside|blockquote|br|caption|dd|details|div|dl|dt|figcaption"
    r"|figure|footer|h[1-6]|header|hr|img|li|main|nav|ol|p|pre|section|summary|table|tbody|td"
    r"|tfoot|th|thead|tr|ul)\b",
    re.IGNORECASE,
)
# C0 and C1 controls; tab, newline and carriage return are whitespace and collapse below.
_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE_RE: Final = re.compile(r"\s+")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: no tags, scripts or styles; whitespace collapsed.

    Plain text passes through unchanged apart from whitespace (``AT&T``, ``1 < 2`` survive);
    the output is meant to be escaped again by whoever renders it.
    """
    if not markup:
        return ""
    # Lone surrogates cannot cross into nh3 (Rust); NUL and friends have no place in text.
    markup = markup.encode("utf-8", "replace").decode("utf-8")
    markup = _CONTROL_RE.sub("", markup)
    markup = _BLOCK_TAG_RE.sub(lambda m: " " + m.group(0), markup)
    # With no allowed tags, nh3 returns the text content, still HTML-escaped (&lt; &amp; ...).
    escaped = nh3.clean(
        markup,
        tags=set(),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={},
        strip_comments=True,
        link_rel=None,
    )
    text = html.unescape(escaped)
    text = _CONTROL_RE.sub("", text)
    return _SPACE_RE.sub(" ", text).strip()
