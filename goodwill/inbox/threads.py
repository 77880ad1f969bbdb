"""Threads from stored posts: reply chains and network conversation ids, joined in one pass.

The whole workspace is read with one query (a slim projection, no per-post round trips) and
joined with a union-find: a post belongs with the post it replies to (same source) and with
every post that carries the same conversation id (same source). Each thread is then summed up
into the facts the inbox stores: when it opened, who opened it, when the brand first answered,
how many questions and complaints it holds and how many of those got an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from goodwill.inbox.acknowledgement import is_acknowledgement
from goodwill.store.inbox_tables import PREVIEW_CHARS

__all__ = [
    "ASK_INTENTS",
    "PostRow",
    "ThreadFacts",
    "build_threads",
    "mention_pattern",
    "normalise_handle",
]

ASK_INTENTS = frozenset({"question", "complaint"})
"""Intents that need a human answer."""


@dataclass(slots=True, frozen=True)
class PostRow:
    """The columns of a post that threading and the inbox's signals need."""

    id: int
    source: str
    external_id: str
    in_reply_to: str | None
    conversation_id: str | None
    is_own: bool
    created_at: datetime
    author_handle: str | None
    author_followers: int | None
    intent: str | None
    sentiment: str | None
    text: str
    author_standing: str | None = None
    """``advocate`` or ``detractor`` when the author is one (goodwill.people), else None."""


STANDING_ASKS = frozenset({"advocate", "detractor"})
"""Whatever an advocate or a detractor says deserves a human answer."""


@dataclass(slots=True)
class ThreadFacts:
    """What a thread says, derived from its posts alone (no human state)."""

    thread_key: str
    source: str
    root_post_id: int
    post_count: int
    opened_at: datetime
    opened_by_customer: bool
    last_post_at: datetime
    first_ask_at: datetime | None
    last_ask_at: datetime | None
    first_response_at: datetime | None
    answered_at: datetime | None
    last_own_at: datetime | None
    needs_answer: bool
    asks: int
    asks_answered: int
    questions: int
    complaints: int
    direct_mentions: int
    negative: int
    max_followers: int | None
    author_handle: str | None
    preview: str
    post_ids: tuple[int, ...]
    advocates: int = 0
    detractors: int = 0

    # Durations the metrics aggregate, stored with the row so the database need not subtract
    # timestamps for every conversation (whole microseconds: exactly ``total_seconds()``).
    @property
    def first_response_us(self) -> int | None:
        """Opened by a customer, first brand post after it."""
        if not self.opened_by_customer or self.first_response_at is None:
            return None
        return _us(self.first_response_at - self.opened_at)

    @property
    def answer_wait_us(self) -> int | None:
        """First ask to the brand's first answer after it."""
        if self.first_ask_at is None or self.answered_at is None:
            return None
        return _us(self.answered_at - self.first_ask_at)

    @property
    def own_after_ask_us(self) -> int | None:
        """First ask to the brand's last post: the resolution time when the brand's answer
        closed the conversation by itself."""
        if self.first_ask_at is None or self.last_own_at is None:
            return None
        return _us(self.last_own_at - self.first_ask_at)


def _us(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def normalise_handle(handle: str) -> str:
    """``@Brand@mastodon.example`` and ``brand`` both become ``brand``: what people type."""
    h = handle.strip().lstrip("@").casefold()
    return h.split("@", 1)[0]


def mention_pattern(handles: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for ``@handle`` of any of the brand's accounts, or None when it has none."""
    names = sorted({n for h in handles if (n := normalise_handle(h))}, key=len, reverse=True)
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?<![\w@])@(?:{alternatives})(?![\w])", re.IGNORECASE)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, x: object) -> object:
        parent = self.parent
        root = x
        while (p := parent.setdefault(root, root)) != root:
            root = p
        while (p := parent[x]) != root:  # path compression
            parent[x] = root
            x = p
        return root

    def union(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def build_threads(
    rows: Sequence[PostRow], own_mention: re.Pattern[str] | None
) -> list[ThreadFacts]:
    """Every thread worth the inbox's attention: one that holds a post needing an answer, or
    a post by the brand and one by someone else. Lone posts that ask nothing are left out."""
    uf = _UnionFind()
    for r in rows:
        node = (r.source, r.external_id)
        uf.find(node)
        if r.in_reply_to:
            uf.union(node, (r.source, r.in_reply_to))
        if r.conversation_id:
            uf.union(node, ("conversation", r.source, r.conversation_id))
    groups: dict[object, list[PostRow]] = {}
    for r in rows:
        groups.setdefault(uf.find((r.source, r.external_id)), []).append(r)
    by_node = {(r.source, r.external_id): r for r in rows}
    facts = []
    for posts in groups.values():
        fact = _summarise(posts, by_node, own_mention)
        if fact is not None:
            facts.append(fact)
    return facts


def _root_ref(first: PostRow, by_node: dict[tuple[str, str], PostRow]) -> str:
    """The id at the top of ``first``'s reply chain: stable when a missing parent arrives later,
    because the parent's own id is the reference its replies already named."""
    post = first
    seen = {post.external_id}
    while post.in_reply_to and post.in_reply_to not in seen:
        parent = by_node.get((post.source, post.in_reply_to))
        if parent is None:
            return post.in_reply_to
        post = parent
        seen.add(post.external_id)
    return post.external_id


def _summarise(
    posts: list[PostRow],
    by_node: dict[tuple[str, str], PostRow],
    own_mention: re.Pattern[str] | None,
) -> ThreadFacts | None:
    posts.sort(key=lambda p: (p.created_at, p.id))
    first = posts[0]
    own_times = [p.created_at for p in posts if p.is_own]
    others = [p for p in posts if not p.is_own]
    asks: list[PostRow] = []
    questions = complaints = mentions = negative = advocates = detractors = 0
    max_followers: int | None = None
    first_own = own_times[0] if own_times else None
    for p in others:
        mentioned = own_mention is not None and own_mention.search(p.text) is not None
        mentions += mentioned
        questions += p.intent == "question"
        complaints += p.intent == "complaint"
        negative += p.sentiment == "negative"
        advocates += p.author_standing == "advocate"
        detractors += p.author_standing == "detractor"
        # "thanks @brand!" after the brand answered closes the exchange, it asks nothing, even
        # from an advocate or a detractor.
        thanks = (
            first_own is not None
            and first_own <= p.created_at
            and is_acknowledgement(p.text, p.sentiment)
        )
        calls_for_answer = mentioned or p.author_standing in STANDING_ASKS
        if p.intent in ASK_INTENTS or (calls_for_answer and not thanks):
            asks.append(p)
        if p.author_followers is not None:
            max_followers = max(max_followers or 0, p.author_followers)
    if not asks and not (own_times and others):
        return None
    last_own = own_times[-1] if own_times else None
    first_ask = asks[0].created_at if asks else None
    last_ask = asks[-1].created_at if asks else None
    opened_by_customer = not first.is_own
    first_response = None
    if opened_by_customer:
        first_response = next((t for t in own_times if t >= first.created_at), None)
    answered = None
    if first_ask is not None:
        answered = next((t for t in own_times if t >= first_ask), None)
    asks_answered = sum(
        1
        for p in asks
        if p.intent in ASK_INTENTS and last_own is not None and last_own >= p.created_at
    )
    needs_answer = last_ask is not None and (last_own is None or last_own < last_ask)
    shown = asks[-1] if asks else (others[0] if others else first)
    return ThreadFacts(
        thread_key=f"{first.source}:{_root_ref(first, by_node)}",
        source=first.source,
        root_post_id=first.id,
        post_count=len(posts),
        opened_at=first.created_at,
        opened_by_customer=opened_by_customer,
        last_post_at=posts[-1].created_at,
        first_ask_at=first_ask,
        last_ask_at=last_ask,
        first_response_at=first_response,
        answered_at=answered,
        last_own_at=last_own,
        needs_answer=needs_answer,
        asks=len(asks),
        asks_answered=asks_answered,
        questions=questions,
        complaints=complaints,
        direct_mentions=mentions,
        negative=negative,
        max_followers=max_followers,
        author_handle=others[0].author_handle if others else None,
        preview=shown.text[:PREVIEW_CHARS],
        post_ids=tuple(p.id for p in posts),
        advocates=advocates,
        detractors=detractors,
    )
