"""Parsing: precedence, every operator and field, the understood form, and the error messages."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill.query import Query, QuerySyntaxError, parse
from goodwill.query._ast import And, Field, Near, Not, Or, Phrase, Wildcard, Word


def understood(query: str) -> str:
    return str(parse(query))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("apple", "apple"),
        ("a b c", "(a AND b AND c)"),
        ("a AND b", "(a AND b)"),
        ("a OR b c", "(a OR (b AND c))"),
        ("a b OR c", "((a AND b) OR c)"),
        ("a OR b AND c OR d", "(a OR (b AND c) OR d)"),
        ("NOT a b", "(NOT a AND b)"),
        ("a NOT b", "(a AND NOT b)"),
        ("a NOT b OR c", "((a AND NOT b) OR c)"),
        ("a AND (b OR c)", "(a AND (b OR c))"),
        ("(a OR b) (c OR d)", "((a OR b) AND (c OR d))"),
        ("((a))", "a"),
        ("(a AND b) AND c", "(a AND b AND c)"),
        ("(a OR b) OR c", "(a OR b OR c)"),
        ("a NOT NOT b", "(a AND b)"),
        ("a NEAR/3 b", "(a NEAR/3 b)"),
        ("a NEAR/3f b", "(a NEAR/3f b)"),
        ("NOT a NEAR/3 b c", "(NOT (a NEAR/3 b) AND c)"),
        ("x a NEAR/2 b OR c", "((x AND (a NEAR/2 b)) OR c)"),
        (
            "(late OR delayed) NEAR/5 (delivery OR parcel)",
            "((late OR delayed) NEAR/5 (delivery OR parcel))",
        ),
        ('"customer service" NEAR/4 slow*', '("customer service" NEAR/4 slow*)'),
        ("and or not", "(and AND or AND not)"),  # lowercase operators are words
    ],
)
def test_precedence_and_implicit_and(query: str, expected: str) -> None:
    assert understood(query) == expected


@pytest.mark.parametrize(
    ("query", "node"),
    [
        ("Café", Word("cafe")),
        ("#Sale", Word("#sale")),
        ("@AcmeSupport", Word("@acmesupport")),
        ("🍕", Word("🍕")),
        ("deliver*", Wildcard("deliver*")),
        ("colo?r", Wildcard("colo?r")),
        ("de**ver", Wildcard("de*ver")),
        ("#deliv*", Wildcard("#deliv*")),
        ('"Customer  Service"', Phrase((Word("customer"), Word("service")))),
        ('"late deliver*"', Phrase((Word("late"), Wildcard("deliver*")))),
        ('"one"', Word("one")),
        ("e-mail", Phrase((Word("e"), Word("mail")))),
        ("東京", Or((Phrase((Word("東"), Word("京"))), Word("#東京")))),
        ("scam?", Word("scam")),  # a question mark ending a word is punctuation
        ("“smart quotes”", Phrase((Word("smart"), Word("quotes")))),
    ],
)
def test_leaves(query: str, node: object) -> None:
    assert parse(query).root == node


@pytest.mark.parametrize(
    ("query", "node"),
    [
        ("author:AcmeSupport", Field("author", "acmesupport")),
        ("author:@acme", Field("author", "acme")),
        ('author:"Jane  Doe"', Field("author", "jane doe")),
        ("site:www.Example.com", Field("site", "example.com")),
        ("site:https://blog.example.com/path", Field("site", "blog.example.com")),
        ("url:https://www.example.com/blog", Field("url", "example.com/blog")),
        ("url:example.com/*/2024", Field("url", "example.com/*/2024")),
        ("lang:EN", Field("lang", "en")),
        ("lang:pt_BR", Field("lang", "pt-br")),
        ("source:Mastodon", Field("source", "mastodon")),
        ("Source:rss", Field("source", "rss")),
        ("author:acme*", Field("author", "acme*")),
    ],
)
def test_fields(query: str, node: Field) -> None:
    assert parse(query).root == node


def test_equal_queries_are_equal_and_hash_alike() -> None:
    assert parse("a b") == parse("a AND b")
    assert parse("A  b") == parse("a b")
    assert parse("a b") != parse("a OR b")
    assert len({parse("x y"), parse("x AND y")}) == 1


def test_query_is_immutable_and_keeps_its_text() -> None:
    query = parse("  Acme  OR  #acme ")
    assert query.text == "  Acme  OR  #acme "
    assert repr(query) == "Query('  Acme  OR  #acme ')"
    with pytest.raises(AttributeError):
        query._text = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(query)) == query


def test_explain_shows_how_the_query_was_understood() -> None:
    explained = parse("(late OR delayed) NEAR/5f parcel* NOT lang:de").explain()
    assert explained.splitlines()[0] == "(((late OR delayed) NEAR/5f parcel*) AND NOT lang:de)"
    assert "NEAR/5f (within 5 words, left one first)" in explained
    assert "      word late (or #late)" in explained
    assert "wildcard parcel*" in explained
    assert "NOT (must not match)" in explained
    assert "language is de" in explained


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("", "empty query", 1),
        ("   ", "empty query", 1),
        ("(a OR b) AND c) OR d", "unbalanced parenthesis at column 15", 15),
        (") a", "unbalanced parenthesis at column 1", 1),
        ("a (b OR c", "missing closing parenthesis for the one opened at column 3", 3),
        ("((a)", "missing closing parenthesis for the one opened at column 1", 1),
        ("a (", "missing closing parenthesis for the one opened at column 3", 3),
        ("a b NEAR c", "NEAR needs a distance, as in NEAR/3 (column 5)", 5),
        ("a NEAR/x b", "NEAR needs a distance, as in NEAR/3 (column 3)", 3),
        ("a NEAR/0 b", "NEAR distance must be between 1 and 100, not 0 (column 3)", 3),
        ("a NEAR/101 b", "NEAR distance must be between 1 and 100, not 101 (column 3)", 3),
        ('a "bc d', "unterminated quote starting at column 3", 3),
        (
            "a foo:bar",
            "unknown field 'foo:' at column 3 (known fields: author, site, url, lang, source)",
            3,
        ),
        ("a OR", "OR at column 3 needs a term on its right", 3),
        ("a OR ) b", "OR at column 3 needs a term on its right", 3),
        ("a AND OR b", "AND at column 3 needs a term on its right", 3),
        ("OR a", "OR at column 1 needs a term on its left", 1),
        ("(AND a)", "AND at column 2 needs a term on its left", 2),
        ("a NOT", "NOT at column 3 needs a term on its right", 3),
        ("a NEAR/3", "NEAR/3 at column 3 needs a term on its right", 3),
        ("NEAR/3 a", "NEAR/3 at column 1 needs a term on its left", 1),
        ("a ()", "empty parentheses at column 3", 3),
        ('a ""', "empty phrase at column 3", 3),
        (
            "NOT foo",
            "a query needs at least one term to look for; NOT alone only excludes "
            "(NOT at column 1)",
            1,
        ),
        (
            "NOT a AND NOT b",
            "a query needs at least one term to look for; NOT alone only excludes "
            "(NOT at column 1)",
            1,
        ),
        (
            "a OR NOT b",
            "a query needs at least one term to look for; NOT alone only excludes "
            "(NOT at column 6)",
            6,
        ),
        (
            "*ing",
            "'*ing' at column 1 starts with a wildcard; a wildcard needs at least 2 letters or "
            "digits before it, as in deliver*",
            1,
        ),
        (
            "a d?g",
            "'d?g' at column 3 has a wildcard too early; a wildcard needs at least 2 letters or "
            "digits before it, as in deliver*",
            3,
        ),
        (
            "author:a*",
            "'author:a*' at column 1 has a wildcard too early; a wildcard needs at least 2 "
            "letters or digits before it, as in deliver*",
            1,
        ),
        (
            "e-ma*",
            "'e-ma*' at column 1: a wildcard only works inside one word (letters, digits, ' and _)",
            1,
        ),
        (
            "東京*",
            "'東京*' at column 1: wildcards do not work with Chinese, Japanese, Korean or Thai "
            "characters, which are matched one by one; leave the * out",
            1,
        ),
        ("a !!!", "'!!!' at column 3 has no letters, digits or emoji to search for", 3),
        ("a -spam", "'-spam' at column 3: to leave out posts with a word, write NOT spam", 3),
        (
            "lang:",
            "field 'lang:' at column 1 needs a value right after the colon, as in lang:en",
            1,
        ),
        (
            "lang:english",
            "lang: needs a language code such as en or pt-br, not 'english' (column 1)",
            1,
        ),
        ("a site:@", "site: needs a domain such as example.com, not '@' (column 3)", 3),
        (
            "source:a/b",
            "source: needs a source kind such as rss, mastodon or reddit, not 'a/b' (column 1)",
            1,
        ),
        (
            "a NEAR/3 (b AND c)",
            "NEAR/3 at column 3 can only join words, phrases, wildcards, or an OR of those in "
            "parentheses",
            3,
        ),
        (
            "a NEAR/3 lang:en",
            "NEAR/3 at column 3 can only join words, phrases, wildcards, or an OR of those in "
            "parentheses",
            3,
        ),
        (
            "a NEAR/3 NOT b",
            "NOT at column 10 cannot be a side of NEAR; put the exclusion outside, as in "
            "a NEAR/3 b NOT c",
            10,
        ),
        (
            "a NEAR/3 b NEAR/2 c",
            "NEAR/2 at column 12 follows another NEAR; NEARs cannot be chained, join the pairs "
            "with AND instead",
            12,
        ),
    ],
)
def test_errors_name_the_problem_and_its_column(query: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert str(caught.value) == message
    assert caught.value.message == message
    assert caught.value.column == column
    assert isinstance(caught.value, ValueError)


def test_nesting_is_limited_without_a_recursion_error() -> None:
    with pytest.raises(QuerySyntaxError, match="nested more than 50 deep"):
        parse("(" * 500 + "a" + ")" * 500)
    assert parse("(" * 50 + "a" + ")" * 50) == parse("a")
    assert parse("NOT " * 1000 + "a b") == parse("a b")


def test_long_flat_queries_parse() -> None:
    words = [f"w{i}" for i in range(3000)]
    query = parse(" OR ".join(words))
    assert isinstance(query.root, Or)
    assert len(query.root.children) == 3000


def test_parse_rejects_non_text() -> None:
    with pytest.raises(QuerySyntaxError, match="a query is text"):
        parse(b"bytes")  # type: ignore[arg-type]


_QUERY_PIECES = st.sampled_from(
    [
        *'ab()"“”:*?#@-/ ',
        "AND",
        "OR",
        "NOT",
        "NEAR/3",
        "NEAR/2f",
        "NEAR",
        "NEAR/0",
        "author:",
        "site:",
        "url:",
        "lang:",
        "source:",
        "foo:",
        "de*",
        "*x",
        '"x y"',
        "é",
        "東京",
        "🍕",
        "\x00",
        "\ud800",
        "\n",
    ]
)


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(_QUERY_PIECES, max_size=16).map(" ".join),
        st.lists(_QUERY_PIECES, max_size=16).map("".join),
    )
)
def test_no_input_crashes_the_parser(source: str) -> None:
    """Anything at all either parses or raises QuerySyntaxError with a column."""
    try:
        query = parse(source)
    except QuerySyntaxError as exc:
        assert exc.message and 1 <= exc.column <= max(1, len(source))
        return
    assert isinstance(query, Query)
    query.explain()
    # the parenthesised form is itself a query that means the same
    assert parse(str(query)) == query


def test_root_types() -> None:
    assert isinstance(parse("a NOT b").root, And)
    assert isinstance(parse("NOT a b").root.children[0], Not)  # type: ignore[union-attr]
    assert isinstance(parse("a NEAR/1 b").root, Near)


def _documented_errors() -> list[tuple[str, str]]:
    """(query, message) rows of the Errors table in docs/query-language.md."""
    doc = Path(__file__).resolve().parents[1] / "docs" / "query-language.md"
    section = doc.read_text(encoding="utf-8").split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[1].startswith("`") and cells[0] != "Example query":
            query = cells[0].strip("`") if cells[0].startswith("`") else ""
            if cells[0].startswith("51 nested"):
                query = "(" * 51 + "a" + ")" * 51
            rows.append((query, cells[1].strip("`")))
    return rows


def test_the_documented_error_messages_are_the_real_ones() -> None:
    rows = _documented_errors()
    assert len(rows) >= 25
    for query, message in rows:
        with pytest.raises(QuerySyntaxError) as caught:
            parse(query)
        assert str(caught.value) == message, query
