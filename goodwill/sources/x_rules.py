"""Our topic queries as X filtered-stream rules, where X's rule language can say the same.

X matches rules on its side, so a rule should bring at least what the topic matches; the
topic's own matcher still decides what is a mention once the post is stored. So a translation
may be *broader* than the topic (``NEAR/5`` becomes ``AND``, said in a note), never narrower;
what X cannot express at all (wildcards, ``source:``) is refused with the reason, and the user
can give the source a rule of their own instead (docs/sources/x.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from goodwill.query import QuerySyntaxError, parse
from goodwill.query._ast import And, Field, Near, Node, Not, Phrase, Wildcard, Word, is_plain

__all__ = ["MAX_RULE_LENGTH", "Translation", "Untranslatable", "translate"]

MAX_RULE_LENGTH: Final = 512
"""X's limit on one rule's length for the Basic and Pro tiers (Enterprise allows 2,048)."""


class Untranslatable(ValueError):
    """The topic's query says something X's rule language cannot; the message says what."""


@dataclass(frozen=True, slots=True)
class Translation:
    value: str
    notes: list[str] = field(default_factory=list)
    """Where the rule is broader than the topic (the topic's matcher still filters)."""


def translate(query: str) -> Translation:
    """The X rule for a topic's ``query``, or ``Untranslatable`` saying why not."""
    try:
        root = parse(query).root
    except QuerySyntaxError as exc:
        raise Untranslatable(f"the query does not parse: {exc}") from None
    notes: list[str] = []
    value = _rule(root, notes, top=True)
    if len(value) > MAX_RULE_LENGTH:
        raise Untranslatable(
            f"the rule would be {len(value)} characters; X allows {MAX_RULE_LENGTH}"
        )
    return Translation(value, notes)


def _rule(node: Node, notes: list[str], top: bool = False) -> str:
    if isinstance(node, Word):
        return _word(node.text)
    if isinstance(node, Wildcard):
        raise Untranslatable(f"X rules have no wildcards ({node.pattern})")
    if isinstance(node, Phrase):
        words = []
        for atom in node.words:
            if isinstance(atom, Wildcard):
                raise Untranslatable(f"X rules have no wildcards ({atom.pattern})")
            words.append(atom.text.replace('"', ""))
        return '"' + " ".join(words) + '"'
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Not):
        inner = _rule(node.child, notes)
        return "-" + inner
    if isinstance(node, Near):
        notes.append(
            f"NEAR/{node.distance} became AND: X rules have no proximity, so the stream "
            "brings more and the topic keeps only the near ones"
        )
        both = f"{_rule(node.left, notes)} {_rule(node.right, notes)}"
        return both if top else f"({both})"
    if isinstance(node, And):
        joined = " ".join(_rule(child, notes) for child in node.children)
        return joined if top else f"({joined})"
    joined = " OR ".join(_rule(child, notes) for child in node.children)
    return joined if top else f"({joined})"


def _word(text: str) -> str:
    # Our word also finds its hashtag; an X keyword does not, so both are asked for.
    if is_plain(text):
        return f"({text} OR #{text})"
    if text[0] in "#@" or len(text) <= 2:
        return text  # a hashtag, a mention, an emoji
    return f'"{text}"'


def _field(node: Field) -> str:
    if node.wildcard:
        raise Untranslatable(f"X rules have no wildcards ({node.name}:{node.value})")
    value = node.value
    if node.name == "lang":
        return f"lang:{value}"
    if node.name == "author":
        handle = value.lstrip("@")
        if not handle or not all(c.isalnum() or c == "_" for c in handle):
            raise Untranslatable(
                f"author:{value} is not an X username (X's from: takes a username only)"
            )
        return f"from:{handle}"
    if node.name in ("site", "url"):
        return f'url:"{value}"'
    raise Untranslatable(f"{node.name}: has no X rule equivalent")
