"""``parse`` and the immutable ``Query`` it returns.

Why a class around the tree: callers hold one object that knows its source text, can say how it
was understood (``explain``) and matches documents with closures compiled once, while
``TopicIndex`` reads the prefilter plan computed alongside.
"""

from __future__ import annotations

from typing import Any

from goodwill.query._anchors import Plan, plan
from goodwill.query._ast import Node, explain_tree, render
from goodwill.query._compile import Matcher, compile_tree
from goodwill.query._document import Document
from goodwill.query._lexer import QuerySyntaxError
from goodwill.query._parser import parse_tree

__all__ = ["Query", "parse"]


class Query:
    """A parsed query. Two queries are equal when they were understood the same way."""

    __slots__ = ("_matcher", "_plan", "_root", "_text")

    _text: str
    _root: Node
    _matcher: Matcher
    _plan: Plan

    def __init__(self, text: str, root: Node) -> None:
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_matcher", compile_tree(root))
        object.__setattr__(self, "_plan", plan(root))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Query is immutable")

    @property
    def text(self) -> str:
        """The query as the user wrote it."""
        return self._text

    @property
    def root(self) -> Node:
        """The understood tree (``goodwill.query._ast`` nodes)."""
        return self._root

    def matches(self, doc: Document) -> bool:
        return self._matcher(doc)

    def explain(self) -> str:
        """How the query was understood: the parenthesised form, then an indented tree."""
        return "\n".join([render(self._root), *explain_tree(self._root)])

    def __str__(self) -> str:
        return render(self._root)

    def __repr__(self) -> str:
        return f"Query({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and other._root == self._root

    def __hash__(self) -> int:
        return hash(self._root)

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse, (self._text,))


def parse(query: str) -> Query:
    """Parse ``query``; raises :class:`QuerySyntaxError` (and nothing else) when it is invalid."""
    if not isinstance(query, str):
        raise QuerySyntaxError(f"a query is text, not {type(query).__name__}", 1)
    return Query(query, parse_tree(query))
