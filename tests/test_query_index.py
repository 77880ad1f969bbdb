"""TopicIndex: the prefilter never changes an answer, only how fast it comes."""

from __future__ import annotations

import random
from collections.abc import Hashable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from goodwill.query import Document, Query, QuerySyntaxError, TopicIndex, parse


def naive(queries: dict[Hashable, Query], doc: Document) -> list[Hashable]:
    return [key for key, query in queries.items() if query.matches(doc)]


def test_add_match_remove_and_replace() -> None:
    index = TopicIndex()
    assert len(index) == 0
    assert index.match(Document.build("anything")) == []
    index.add((1, 10), parse("acme OR #acme"))
    index.add((1, 11), parse('"customer service" NOT acme'))
    index.add((2, 20), parse("late NEAR/3 parcel"))
    assert len(index) == 3
    assert (1, 10) in index
    doc = Document.build("Acme customer service: parcel very late")
    assert index.match(doc) == [(1, 10), (2, 20)]
    index.add((1, 10), parse("globex"))  # re-adding a key replaces its query
    assert len(index) == 3
    assert index.match(doc) == [(2, 20)]
    index.remove((2, 20))
    index.remove(("not", "there"))  # does nothing
    assert len(index) == 2
    assert index.match(doc) == []
    assert index.match(Document.build("customer service by globex")) == [(1, 10), (1, 11)]


def test_results_follow_the_order_keys_were_first_added() -> None:
    index = TopicIndex()
    for key in ["c", "a", "b"]:
        index.add(key, parse("pizza"))
    assert index.match(Document.build("pizza")) == ["c", "a", "b"]


def test_match_batch() -> None:
    index = TopicIndex()
    index.add("pizza", parse("pizza OR 🍕"))
    index.add("tokyo", parse("東京"))
    docs = [Document.build(t) for t in ["love 🍕", "東京タワー", "nothing", "pizza in 東京"]]
    assert index.match_batch(docs) == [["pizza"], ["tokyo"], [], ["pizza", "tokyo"]]
    assert index.match_batch([]) == []


def test_unanchored_queries_run_on_every_post() -> None:
    index = TopicIndex()
    index.add("blog", parse("url:example.com/blog"))
    index.add("word", parse("acme"))
    assert index._always == ()  # built lazily
    doc = Document.build("no words in common", url="https://example.com/blog/1")
    assert index.match(doc) == ["blog"]
    assert index._always == (0,)


def test_field_anchors() -> None:
    index = TopicIndex()
    index.add("en", parse("lang:en"))
    index.add("site", parse("site:example.com"))
    index.add("author", parse("author:acme*"))
    index.add("source", parse("source:reddit acme"))
    doc = Document.build(
        "acme",
        lang="en-GB",
        url="https://blog.example.com/x",
        author_handle="AcmeHelp",
        source="reddit",
    )
    assert index.match(doc) == ["en", "site", "author", "source"]
    assert index.match(Document.build("acme", lang="de", source="reddit")) == ["source"]


def test_two_requirements_are_both_needed() -> None:
    index = TopicIndex()
    index.add("q", parse("zorblax AND (refund OR late*)"))
    assert index.match(Document.build("zorblax refund please")) == ["q"]
    assert index.match(Document.build("zorblax lately")) == ["q"]
    assert index.candidates(Document.build("zorblax is great")) == set()
    assert index.candidates(Document.build("refund please")) == set()
    assert index.match(Document.build("zorblax is great")) == []
    assert index._matchers[0] is None  # exact: the prefilter alone decides


def test_vetoes_exclude() -> None:
    index = TopicIndex()
    index.add("v", parse("zorblax NOT (job* OR hiring OR lang:de)"))
    index.add("w", parse("zorblax refund* NOT @zorblax"))
    assert index.match(Document.build("")) == []
    assert index._matchers == [None, None]  # both exact: the prefilter alone decides
    assert index.match(Document.build("zorblax refunds")) == ["v", "w"]
    assert index.match(Document.build("zorblax jobs refunds")) == ["w"]
    assert index.match(Document.build("zorblax refunds @zorblax")) == ["v"]
    assert index.match(Document.build("zorblax refunds", lang="de")) == ["w"]
    assert index.match(Document.build("zorblax #hiring")) == []


def test_exact_queries_need_no_evaluation() -> None:
    index = TopicIndex()
    index.add("exact", parse('acme OR @acme OR "acme air"'))
    index.add("hashtag", parse("#acme"))
    index.match(Document.build(""))
    assert index._matchers[0] is None
    assert index._matchers[1] is not None  # the prefilter reads #acme as acme
    assert index.match(Document.build("flew acme air")) == ["exact"]
    assert index.match(Document.build("#acme")) == ["exact", "hashtag"]
    assert index.match(Document.build("hi @acme")) == ["exact"]


def test_odd_documents_through_the_index() -> None:
    index = TopicIndex()
    index.add("a", parse("a OR 🍕 OR 東京"))
    for text in ["\ud800 a", "\x00 a \x01", "🍕" * 300, "東京" * 100, ""]:
        index.match(Document.build(text, url="\ud800", author_handle="\x00"))


# -- the prefilter never changes an answer ----------------------------------------------------

_VOCAB = [
    "acme",
    "acmeair",
    "late",
    "later",
    "delivery",
    "delivered",
    "parcel",
    "refund",
    "customer",
    "service",
    "great",
    "the",
    "colour",
    "color",
    "don't",
    "café",
    "🍕",
    "👍🏽",
    "東京",
    "タワー",
]
_DOC_WORDS = [*_VOCAB, *(f"#{w}" for w in _VOCAB[:8]), *(f"@{w}" for w in _VOCAB[:4]), "x", "y"]
_QUERY_ATOMS = [
    *_VOCAB,
    *(f"#{w}" for w in _VOCAB[:6]),
    "@acme",
    "deliver*",
    "lat*",
    "colo?r",
    "#deliv*",
    '"customer service"',
    '"late delivery"',
    '"acme air"',
    '"late deliver*"',
    "lang:en",
    "lang:pt",
    "source:reddit",
    "site:example.com",
    "author:acme",
    "author:acme*",
    "url:example.com/blog",
]


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 6 if depth < 3 else 0))
    if kind == 0:
        return draw(st.sampled_from(_QUERY_ATOMS))
    if kind == 1:
        left = draw(st.sampled_from(_QUERY_ATOMS[:30]))
        right = draw(st.sampled_from(_QUERY_ATOMS[:30]))
        op = draw(st.sampled_from(["NEAR/1", "NEAR/3", "NEAR/2f"]))
        return f"{left} {op} {right}"
    parts = draw(st.lists(queries(depth + 1), min_size=1, max_size=3))
    if kind == 2:
        return "(" + " OR ".join(parts) + ")"
    if kind == 3:
        return "(" + " AND ".join(parts) + ")"
    if kind == 4:
        return " ".join(parts) + " NOT " + draw(queries(depth + 1))
    if kind == 5:
        return "(" + " ".join(parts) + ")"
    return "(" + " OR ".join(parts) + ") " + draw(st.sampled_from(_QUERY_ATOMS))


documents = st.builds(
    lambda words, lang, source, url, author: Document.build(
        " ".join(words), lang=lang, source=source, url=url, author_handle=author
    ),
    st.lists(st.sampled_from(_DOC_WORDS), max_size=12),
    st.sampled_from([None, "en", "pt-BR", "de"]),
    st.sampled_from([None, "reddit", "x"]),
    st.sampled_from([None, "https://www.example.com/blog/1", "https://other.org/x"]),
    st.sampled_from([None, "acme", "@AcmeSupport", "someone"]),
)


def _parsed(sources: list[str]) -> list[Query]:
    out = []
    for source in sources:
        try:
            out.append(parse(source))
        except QuerySyntaxError:
            continue
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=25), st.lists(documents, min_size=1, max_size=10))
def test_index_matches_exactly_what_naive_evaluation_matches(
    sources: list[str], docs: list[Document]
) -> None:
    _check_against_naive(sources, docs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=2), st.lists(documents, min_size=1, max_size=10))
def test_index_matches_naive_evaluation_with_few_queries(
    sources: list[str], docs: list[Document]
) -> None:
    """With one or two queries most anchors belong to one query alone (a different layout)."""
    _check_against_naive(sources, docs)


def _check_against_naive(sources: list[str], docs: list[Document]) -> None:
    parsed = _parsed(sources)
    assume(parsed)
    table: dict[Hashable, Query] = {i: q for i, q in enumerate(parsed)}
    index = TopicIndex()
    for key, query in table.items():
        index.add(key, query)
    for doc in docs:
        assert index.match(doc) == naive(table, doc)
    assert index.match_batch(docs) == [naive(table, doc) for doc in docs]


def test_many_random_queries_against_many_posts() -> None:
    rng = random.Random(5)
    sources = []
    for _ in range(600):
        words = rng.sample(_QUERY_ATOMS, 3)
        template = rng.choice(
            [
                "{0}",
                "{0} OR {1}",
                "{0} {1}",
                "{0} NOT {1}",
                "({0} OR {1}) {2}",
                "{0} NEAR/2 {1}",
                "({0} OR {1}) NEAR/3f {2}",
            ]
        )
        sources.append(template.format(*words))
    table: dict[Hashable, Query] = {i: q for i, q in enumerate(_parsed(sources))}
    index = TopicIndex()
    for key, query in table.items():
        index.add(key, query)
    matched = 0
    for _ in range(400):
        words = rng.choices(_DOC_WORDS, k=rng.randint(0, 15))
        doc = Document.build(
            " ".join(words),
            lang=rng.choice([None, "en", "pt"]),
            source=rng.choice([None, "reddit"]),
            url=rng.choice([None, "https://blog.example.com/blog/x"]),
            author_handle=rng.choice([None, "acme"]),
        )
        expected = naive(table, doc)
        assert index.match(doc) == expected
        matched += len(expected)
    assert matched > 1000  # the comparison is not vacuous


@pytest.mark.parametrize("count", [1, 50])
def test_removing_everything_leaves_an_empty_index(count: int) -> None:
    index = TopicIndex()
    for i in range(count):
        index.add(i, parse(f"word{i}"))
    index.match(Document.build("word0"))
    for i in range(count):
        index.remove(i)
    assert len(index) == 0
    assert index.match(Document.build("word0")) == []
