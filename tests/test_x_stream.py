"""X's filtered stream over real HTTP on 127.0.0.1: topics translated into rules, rules synced
(only this source's, stale ones deleted), newline-delimited JSON with keep-alives, a drop
mid-stream resumed through recent search without gaps or repeats, other sources' rules ignored,
malformed lines, X's documented back-off, refusal, and the listener handing over the topics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources import x_stream
from goodwill.sources.base import Page, SourceError
from goodwill.sources.x import XSource
from goodwill.sources.x_rules import Untranslatable, translate
from goodwill.sources.x_stream import reconnect_wait
from goodwill.store.repository import Repository
from tests.fakes.base import json_reply
from tests.fakes.x import TOKEN, XFake
from tests.feedserver import loopback_only, running_server


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(x_stream, "WAIT_SCALE", 0.001)
    loopback_only(monkeypatch)


@pytest.fixture
def fake() -> Iterator[XFake]:
    with running_server() as server:
        yield XFake(server, "stream")


def config(fake: XFake, **extra: Any) -> dict[str, Any]:
    return {**fake.config(), "batch_seconds": 0.05, **extra}


def stream(
    fake: XFake,
    until: Callable[[list[Page]], bool],
    cursor: dict[str, Any] | None = None,
    topics: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> list[Page]:
    async def go() -> list[Page]:
        settings = Settings(_env_file=None, http_timeout=3)
        out: list[Page] = []
        async with make_client(settings, allow_loopback=True) as http:
            src = XSource("xs", config(fake, **extra), http, backfill=timedelta(days=2))
            src.use_topics(topics or [])
            pages = src.stream(cursor or {})
            try:
                async for page in pages:
                    page.cursor = json.loads(json.dumps(page.cursor))
                    out.append(page)
                    if until(out):
                        break
            finally:
                await pages.aclose()  # type: ignore[attr-defined]
        return out

    return asyncio.run(asyncio.wait_for(go(), 15))


def post_ids(pages: list[Page]) -> list[str]:
    return [str(p["id"]) for page in pages for p in page.posts]


def test_topics_become_rules_where_x_can_say_the_same() -> None:
    assert translate("brightloaf").value == "(brightloaf OR #brightloaf)"
    assert translate('"bright loaf" OR #brightloaf').value == '"bright loaf" OR #brightloaf'
    assert translate("author:@ana bread NOT lang:de").value == "from:ana (bread OR #bread) -lang:de"
    assert translate("site:example.com").value == 'url:"example.com"'
    near = translate("late NEAR/3 delivery")
    assert near.value == "(late OR #late) (delivery OR #delivery)"
    assert "NEAR/3 became AND" in near.notes[0]
    for query, reason in [
        ("bread*", "no wildcards"),
        ('"fresh br?ad"', "no wildcards"),
        ("source:reddit bread", "source: has no X rule"),
        ('author:"Ana Lima"', "not an X username"),
        ("(" + " OR ".join(f"word{i}" for i in range(40)) + ")", "X allows 512"),
    ]:
        with pytest.raises(Untranslatable, match=reason):
            translate(query)


def test_the_source_syncs_only_its_own_rules(fake: XFake) -> None:
    fake.rules = [
        {"id": "11", "value": "(old OR #old)", "tag": "goodwill:xs:gone"},  # ours, stale
        {"id": "12", "value": "(brightloaf OR #brightloaf)", "tag": "goodwill:xs:brand"},
        {"id": "13", "value": "cats", "tag": "goodwill:xsother"},  # another source's
        {"id": "14", "value": "dogs", "tag": "someone else"},
    ]
    topics = [("brand", "brightloaf"), ("rivals", "crumbco OR doughly"), ("wild", "bread*")]
    pages = stream(fake, lambda pages: True, topics=topics)
    tags = {r["tag"]: r["value"] for r in fake.rules}
    assert tags == {
        "goodwill:xs:brand": "(brightloaf OR #brightloaf)",
        "goodwill:xs:rivals": "(crumbco OR #crumbco) OR (doughly OR #doughly)",
        "goodwill:xsother": "cats",
        "someone else": "dogs",
    }
    assert fake.rule_changes[0] == {"delete": {"ids": ["11"]}}
    assert fake.rule_changes[1] == {
        "add": [{"value": tags["goodwill:xs:rivals"], "tag": "goodwill:xs:rivals"}]
    }
    assert any("topic 'wild' has no X rule" in p for p in pages[0].problems)
    # The catch-up searched for the accepted rules, together.
    searched = [r.arg("query") for r in fake.server.requests if r.path.endswith("/recent")]
    assert searched == [f"({tags['goodwill:xs:brand']}) OR ({tags['goodwill:xs:rivals']})"]


def test_a_rule_x_refuses_is_reported_with_xs_reason(fake: XFake) -> None:
    with pytest.raises(SourceError, match=r"accepted none.*may not contain wildcards"):
        stream(fake, lambda pages: True, rule="bread*")


def test_relays_the_stream_and_resumes_after_a_drop_without_gaps_or_repeats(
    fake: XFake,
) -> None:
    backlog = fake.add(3)
    ours = ["goodwill:xs"]
    live: dict[str, dict[str, Any]] = {}

    def first() -> Iterable[bytes | float]:
        yield from fake.after_catch_up(1)
        yield b"\r\n"  # a keep-alive
        live["a"] = fake.tweet("live a brightloaf")
        fake.tweets.append(live["a"])
        yield fake.line(live["a"], ours)
        other = fake.tweet("someone else's rule matched this")
        yield fake.line(other, ["someone else"])  # not ours: ignored
        for name in ("b", "c"):  # posted while the connection is down
            live[name] = fake.tweet(f"missed {name} brightloaf")
            fake.tweets.append(live[name])
        yield 0.05

    def second() -> Iterable[bytes | float]:
        yield from fake.after_catch_up(2)
        yield fake.line(live["c"], ours)  # already brought by the catch-up
        yield b'{"data": {"id": "12'  # cut short
        yield b"\r\n"
        disconnect = {
            "errors": [
                {
                    "title": "operational-disconnect",
                    "disconnect_type": "UpstreamOperationalDisconnect",
                    "detail": "This stream has been disconnected upstream for operational reasons.",
                }
            ]
        }
        yield json.dumps(disconnect).encode() + b"\r\n"
        live["d"] = fake.tweet("live d brightloaf")
        fake.tweets.append(live["d"])
        yield fake.line(live["d"], ours)
        yield from fake.keep_alive()

    fake.script(first, abort=True)
    fake.script(second)
    pages = stream(fake, lambda pages: len(set(post_ids(pages))) >= 7, rule="brightloaf")
    expected = backlog + [live[n]["id"] for n in "abcd"]
    assert sorted(post_ids(pages)) == sorted(expected)  # every one, once; not the other's
    since = [r.arg("since_id") for r in fake.server.requests if r.path.endswith("/recent")]
    assert since == [None, live["a"]["id"]]
    assert pages[-1].cursor["since_id"] == live["d"]["id"]
    problems = [p for page in pages for p in page.problems]
    assert any("not valid JSON" in p and "skipped" in p for p in problems)
    assert any("disconnected upstream for operational reasons" in p for p in problems)
    request = fake.stream_requests[0]
    assert "author_id" in (request.arg("expansions") or "")
    [post] = [p for page in pages for p in page.posts if p["id"] == live["d"]["id"]]
    assert post["x_matching_rules"] == ["goodwill:xs"] and post["author"]["handle"]


def test_reconnection_waits_follow_xs_guidance() -> None:
    assert [reconnect_wait("network", n) for n in (1, 2, 3, 64, 100)] == [
        0.25,
        0.5,
        0.75,
        16.0,
        16.0,
    ]
    assert [reconnect_wait("http", n) for n in (1, 2, 3, 7, 9)] == [5, 10, 20, 320, 320]
    assert [reconnect_wait("429", n) for n in (1, 2, 3, 9)] == [60, 120, 240, 900]


def test_429_and_5xx_on_connecting_are_waited_out(
    fake: XFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(x_stream.asyncio, "sleep", sleep)
    reset = str(int(time.time()) + 90)
    fake.stream_faults = [
        json_reply(
            {"title": "Too Many Requests", "status": 429},
            429,
            {
                "x-rate-limit-limit": "50",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": reset,
            },
        ),
        json_reply({"title": "Service Unavailable", "status": 503}, 503),
    ]
    posted = fake.add(1)
    pages = stream(fake, lambda pages: bool(post_ids(pages)), rule="brightloaf")
    assert post_ids(pages) == posted
    assert len(fake.stream_requests) == 3
    scale = x_stream.WAIT_SCALE
    # The 429 waits what x-rate-limit-reset asks (more than X's first minute), the 503 5 s.
    assert 85 * scale <= waits[0] <= 91 * scale and waits[1] == pytest.approx(5 * scale)


def test_a_stream_refused_for_the_tier_fails_clearly(fake: XFake) -> None:
    fake.stream_status = 403
    with pytest.raises(SourceError, match=r"HTTP 403 .* needs an app bearer token of the Pro"):
        stream(fake, lambda pages: True, rule="brightloaf")


def test_the_listener_hands_over_topics_and_marks_a_failing_stream_unhealthy(
    fake: XFake, repo: Repository, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = repo.add_workspace("W")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf")
    repo.add_source(ws.id, "x", "xs", XSource.validate_config(config(fake)), 60)
    posted = fake.add(2)

    async def run_until(posts: int) -> None:
        stop = asyncio.Event()
        seen = {"n": 0}

        def on(outcome: Any) -> None:
            seen["n"] += outcome.report.written.inserted
            if seen["n"] >= posts or not outcome.ok:
                stop.set()

        async with make_client(settings, allow_loopback=True) as http:
            listener = Listener(repo, Ingestor(repo, settings), settings, http, on_outcome=on)
            assert listener.is_stream(repo.source(ws.id, "xs"))
            await asyncio.wait_for(listener.run(stop), timeout=15)

    asyncio.run(run_until(len(posted)))
    assert repo.post_count(ws.id) == 2
    assert [r["tag"] for r in fake.rules] == ["goodwill:xs:brand"]
    assert repo.source(ws.id, "xs").cursor["since_id"] == max(posted, key=int)

    monkeypatch.setattr(x_stream, "MAX_FAILURES", 2)
    fake.stream_status = 503
    asyncio.run(run_until(1))
    health = repo.source(ws.id, "xs")
    assert "keeps failing (3 times)" in (health.last_error or "")
    assert "HTTP 503" in (health.last_error or "") and TOKEN not in (health.last_error or "")
    assert health.consecutive_failures == 1
