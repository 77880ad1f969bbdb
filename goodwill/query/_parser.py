"""Recursive descent from lexemes to the tree, with errors that say what and where.

Why hand-written: the grammar is tiny, and a hand-written parser can tell the user *which*
parenthesis is unbalanced and which operator lacks a term, instead of "unexpected token".

Precedence, tightest first: NEAR/n, NOT, AND (also implicit between neighbours), OR.

    query    := or_expr
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr ((AND)? not_expr)*
    not_expr := NOT* near_expr
    near     := primary (NEAR/n primary)?
    primary  := word | "phrase" | field:value | "(" or_expr ")"
"""

from __future__ import annotations

from goodwill.query._ast import And, Near, Node, Not, Or, Phrase, Wildcard, Word
from goodwill.query._lexer import Kind, Lexeme, QuerySyntaxError, lex
from goodwill.query._terms import field_node, phrase_node, word_node

__all__ = ["MAX_DEPTH", "parse_tree"]

MAX_DEPTH = 50
_STARTS_OPERAND = frozenset({Kind.WORD, Kind.PHRASE, Kind.FIELD, Kind.OPEN, Kind.NOT})
_NEEDS_LEFT = frozenset({Kind.AND, Kind.OR, Kind.NEAR})


def _error(message: str, column: int) -> QuerySyntaxError:
    return QuerySyntaxError(message, column)


class _Parser:
    def __init__(self, lexemes: list[Lexeme]) -> None:
        self.lexemes = lexemes
        self.pos = 0
        self.open_parens: list[int] = []

    def peek(self) -> Lexeme | None:
        return self.lexemes[self.pos] if self.pos < len(self.lexemes) else None

    def take(self) -> Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def need_right(self, op: Lexeme) -> None:
        after = self.peek()
        if after is None or after.kind not in _STARTS_OPERAND:
            raise _error(
                f"{op.spelling} at column {op.column} needs a term on its right", op.column
            )

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (ahead := self.peek()) is not None and ahead.kind is Kind.OR:
            self.need_right(self.take())
            children.append(self.and_expr())
        return _flat(Or, children)

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while (ahead := self.peek()) is not None:
            if ahead.kind is Kind.AND:
                self.need_right(self.take())
            elif ahead.kind not in _STARTS_OPERAND:
                break
            children.append(self.not_expr())
        return _flat(And, children)

    def not_expr(self) -> Node:
        nots: list[Lexeme] = []
        while (ahead := self.peek()) is not None and ahead.kind is Kind.NOT:
            nots.append(self.take())
            self.need_right(nots[-1])
        node = self.near_expr()
        # NOT NOT x is x; an odd number of NOTs is one NOT (reported at the first)
        return Not(node, nots[0].column) if len(nots) % 2 else node

    def near_expr(self) -> Node:
        left = self.primary()
        ahead = self.peek()
        if ahead is None or ahead.kind is not Kind.NEAR:
            return left
        op = self.take()
        after = self.peek()
        if after is None or after.kind in (Kind.CLOSE, Kind.AND, Kind.OR, Kind.NEAR):
            raise _error(
                f"{op.spelling} at column {op.column} needs a term on its right", op.column
            )
        right = self.primary()
        for side in (left, right):
            if not _nearable(side):
                raise _error(
                    f"{op.spelling} at column {op.column} can only join words, phrases, "
                    "wildcards, or an OR of those in parentheses",
                    op.column,
                )
        again = self.peek()
        if again is not None and again.kind is Kind.NEAR:
            raise _error(
                f"{again.spelling} at column {again.column} follows another NEAR; "
                "NEARs cannot be chained, join the pairs with AND instead",
                again.column,
            )
        return Near(left, right, op.distance, op.ordered)

    def primary(self) -> Node:
        lexeme = self.take()
        kind = lexeme.kind
        if kind is Kind.WORD:
            return word_node(lexeme.text, lexeme.column)
        if kind is Kind.PHRASE:
            return phrase_node(lexeme.text, lexeme.column)
        if kind is Kind.FIELD:
            return field_node(lexeme.field, lexeme.text, lexeme.column)
        if kind is Kind.OPEN:
            return self.group(lexeme)
        if kind is Kind.CLOSE:
            raise _error(f"unbalanced parenthesis at column {lexeme.column}", lexeme.column)
        if kind is Kind.NOT:  # NOT right after NEAR/n
            raise _error(
                f"NOT at column {lexeme.column} cannot be a side of NEAR; "
                "put the exclusion outside, as in a NEAR/3 b NOT c",
                lexeme.column,
            )
        raise _error(
            f"{lexeme.spelling} at column {lexeme.column} needs a term on its left", lexeme.column
        )

    def group(self, opening: Lexeme) -> Node:
        ahead = self.peek()
        if ahead is None:
            raise _error(
                f"missing closing parenthesis for the one opened at column {opening.column}",
                opening.column,
            )
        if ahead.kind is Kind.CLOSE:
            raise _error(f"empty parentheses at column {opening.column}", opening.column)
        if len(self.open_parens) >= MAX_DEPTH:
            raise _error(
                f"parentheses nested more than {MAX_DEPTH} deep at column {opening.column}",
                opening.column,
            )
        self.open_parens.append(opening.column)
        node = self.or_expr()
        closing = self.peek()
        if closing is None:
            raise _error(
                f"missing closing parenthesis for the one opened at column {opening.column}",
                opening.column,
            )
        if closing.kind is not Kind.CLOSE:  # pragma: no cover - or_expr stops only at ) or end
            raise _error(
                f"unexpected {closing.spelling} at column {closing.column}", closing.column
            )
        self.take()
        self.open_parens.pop()
        return node


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        if isinstance(child, kind):
            flat.extend(child.children)
        else:
            flat.append(child)
    return kind(tuple(flat))


def _nearable(node: Node) -> bool:
    if isinstance(node, Word | Wildcard | Phrase):
        return True
    return isinstance(node, Or) and all(_nearable(c) for c in node.children)


def _exclusion_only(node: Node) -> int | None:
    """The column of a NOT that leaves (part of) the query with nothing to look for, or None."""
    if isinstance(node, Not):
        return node.column
    if isinstance(node, And):
        found = [_exclusion_only(c) for c in node.children]
        return None if None in found else found[0]
    if isinstance(node, Or):
        for child in node.children:
            column = _exclusion_only(child)
            if column is not None:
                return column
    return None


def parse_tree(query: str) -> Node:
    """The tree of ``query``; raises :class:`QuerySyntaxError` and nothing else."""
    lexemes = lex(query)
    if not lexemes:
        raise _error("empty query", 1)
    first = lexemes[0]
    if first.kind in _NEEDS_LEFT:
        raise _error(
            f"{first.spelling} at column {first.column} needs a term on its left", first.column
        )
    parser = _Parser(lexemes)
    node = parser.or_expr()
    rest = parser.peek()
    if rest is not None:
        if rest.kind is Kind.CLOSE:
            raise _error(f"unbalanced parenthesis at column {rest.column}", rest.column)
        raise _error(  # pragma: no cover - and_expr consumes everything else
            f"unexpected {rest.spelling} at column {rest.column}", rest.column
        )
    column = _exclusion_only(node)
    if column is not None:
        raise _error(
            "a query needs at least one term to look for; NOT alone only excludes "
            f"(NOT at column {column})",
            column,
        )
    return node
