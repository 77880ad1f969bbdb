"""The understood form of a query: a small tree of frozen nodes, and its two renderings.

Why a tree of plain values: two spellings of one query (``a b`` and ``a AND b``) parse to equal
trees, so ``Query`` equality and hashing come for free, and the compiler, the prefilter and
``explain`` all walk the same structure without knowing about syntax.

Leaves hold already-folded text: a :class:`Word` is one token as ``goodwill.text.tokens``
produces it (``cafe``, ``#sale``, ``@acme``, ``🍕``, ``東``); a :class:`Wildcard` pattern is
folded text with ``*`` (any run of characters) and ``?`` (exactly one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "And",
    "Atom",
    "Field",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Wildcard",
    "Word",
    "explain_tree",
    "is_plain",
    "render",
]


def is_plain(token: str) -> bool:
    """True for a token that may also be found as a hashtag (a word, not ``#x``, ``@x`` or 🍕)."""
    first = token[0]
    return first.isalnum() or first == "_"


@dataclass(frozen=True, slots=True)
class Word:
    text: str


@dataclass(frozen=True, slots=True)
class Wildcard:
    pattern: str

    @property
    def prefix(self) -> str:
        """The literal characters before the first wildcard (sigil included)."""
        cut = min(i for i in (self.pattern.find("*"), self.pattern.find("?")) if i >= 0)
        return self.pattern[:cut]


Atom = Word | Wildcard


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[Atom, ...]


@dataclass(frozen=True, slots=True)
class Field:
    """``name:value``; ``value`` is normalised the way the field compares it."""

    name: str
    value: str

    @property
    def wildcard(self) -> bool:
        return "*" in self.value or "?" in self.value


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int
    ordered: bool


Node = Word | Wildcard | Phrase | Field | Not | And | Or | Near


def _quote_if_needed(value: str) -> str:
    if not value or any(c.isspace() or c in '()"“”„«»' for c in value):
        return '"' + value.replace('"', "") + '"'
    return value


def render(node: Node) -> str:
    """The fully parenthesised query text, which parses back to an equal tree."""
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Wildcard):
        return node.pattern
    if isinstance(node, Phrase):
        return '"' + " ".join(render(w) for w in node.words) + '"'
    if isinstance(node, Field):
        return f"{node.name}:{_quote_if_needed(node.value)}"
    if isinstance(node, Not):
        return "NOT " + render(node.child)
    if isinstance(node, Near):
        op = f"NEAR/{node.distance}{'f' if node.ordered else ''}"
        return f"({render(node.left)} {op} {render(node.right)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(render(c) for c in node.children) + ")"


def _describe_atom(atom: Atom) -> str:
    if isinstance(atom, Wildcard):
        also = f"also #{atom.pattern}; " if is_plain(atom.pattern) else ""
        return f"wildcard {atom.pattern} ({also}* = any characters, ? = exactly one)"
    text = atom.text
    if text[0] == "#":
        return f"hashtag {text}"
    if text[0] == "@":
        return f"mention {text}"
    if is_plain(text):
        return f"word {text} (or #{text})"
    return f"emoji or character {text}"


_FIELD_WORDS = {
    "author": "author is {} (handle, with or without @, or full name)",
    "site": "site is {} or one of its subdomains",
    "url": "url contains {}",
    "lang": "language is {}",
    "source": "source is {}",
}


def explain_tree(node: Node, depth: int = 0) -> list[str]:
    """One line per node, children indented by two spaces."""
    pad = "  " * depth
    if isinstance(node, Word | Wildcard):
        return [pad + _describe_atom(node)]
    if isinstance(node, Phrase):
        lines = [pad + f"phrase {render(node)} (these tokens next to each other, in this order)"]
        return lines + [pad + "  " + _describe_atom(w) for w in node.words]
    if isinstance(node, Field):
        return [pad + _FIELD_WORDS[node.name].format(node.value)]
    if isinstance(node, Not):
        return [pad + "NOT (must not match)", *explain_tree(node.child, depth + 1)]
    if isinstance(node, Near):
        order = "left one first" if node.ordered else "either order"
        op = f"NEAR/{node.distance}{'f' if node.ordered else ''}"
        head = f"{pad}{op} (within {node.distance} words, {order})"
        return [head, *explain_tree(node.left, depth + 1), *explain_tree(node.right, depth + 1)]
    head = "AND (all of)" if isinstance(node, And) else "OR (any of)"
    lines = [pad + head]
    for child in node.children:
        lines.extend(explain_tree(child, depth + 1))
    return lines
