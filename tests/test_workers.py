"""Scale-out end to end: a real redis-server, real Celery worker processes, a real store.

Sources are polled through tasks from a feed on 127.0.0.1; a worker killed with SIGKILL in the
middle of a poll has its task given to another worker, and nothing is lost or stored twice;
two workers never poll one source at once; an alert outbox is delivered once by two workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from goodwill.alerts import AlertService
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.sources.base import Page
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertDelivery, Post, Source
from tests.alertsinks import WebhookReceiver
from tests.feedserver import FeedServer, Reply, Request, running_server
from tests.redisserver import RedisServer, find_redis_server

LEASE = 3  # seconds: how soon a dead worker's task and source lock are given up


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    binary = find_redis_server()
    if binary is None:
        if os.environ.get("GOODWILL_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required (GOODWILL_REQUIRE_REDIS=1) but not installed")
        pytest.skip("redis-server not found; install Debian's redis-server to run these")
    server = RedisServer(binary)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    return redis_server_url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        broker_url=redis_url,
        worker_lease_seconds=LEASE,
        http_allow_private=True,
        http_timeout=60,
        analysis=False,
    )


class Worker:
    """``goodwill worker`` in its own process group, its log kept for failure messages."""

    def __init__(self, settings: Settings, concurrency: int = 1) -> None:
        env = {
            **os.environ,
            "GOODWILL_DATABASE_URL": str(settings.database_url),
            "GOODWILL_DATA_DIR": str(settings.data_dir),
            "GOODWILL_BROKER_URL": str(settings.broker_url),
            "GOODWILL_WORKER_LEASE_SECONDS": str(settings.worker_lease_seconds),
            "GOODWILL_HTTP_ALLOW_PRIVATE": "true",  # the feed is on 127.0.0.1
            "GOODWILL_HTTP_TIMEOUT": "60",
            "GOODWILL_ANALYSIS": "false",
            "GOODWILL_SENTIMENT": "vader",  # re-analysis tasks: the fast model is enough here
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "goodwill", "worker", "-c", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.log: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            self.kill()
            raise AssertionError("worker did not start:\n" + "".join(self.log))

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace")
            self.log.append(line)
            if " ready." in line:
                self.ready.set()

    def kill(self) -> None:
        """SIGKILL to the worker and its task processes: a machine that died."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def workers(settings: Settings) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(concurrency: int = 1) -> Worker:
        w = Worker(settings, concurrency)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as srv:
        yield srv


def feed(*ids: int) -> bytes:
    items = "".join(
        f"<item><title>Brightloaf news {i}</title><link>https://blog.example/{i}</link>"
        f"<guid>https://blog.example/{i}</guid><pubDate>Mon, 02 Nov 2026 10:00:{i:02d} GMT"
        "</pubDate></item>"
        for i in ids
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>https://blog.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def wait_for(condition: Callable[[], bool], timeout: float = 60, why: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {why}")
        time.sleep(0.05)


def post_ids(repo: Repository) -> list[str]:
    with repo.session() as s:
        return list(s.scalars(select(Post.external_id)))


def poll_done(repo: Repository, settings: Settings, src: Source) -> Callable[[], bool]:
    """Whether the source's poll task is finished: health recorded and its queued mark gone."""
    client = redis.Redis.from_url(str(settings.broker_url))

    def done() -> bool:
        polled = repo.sources(src.workspace_id)[0].next_poll_at is not None
        return polled and not client.exists(f"goodwill:queued:poll:{src.id}")

    return done


def setup_source(repo: Repository, url: str) -> tuple[int, Source]:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    return ws, repo.add_source(ws, "rss", "blog", {"url": url}, 60)


def test_polls_through_tasks_land_posts_exactly_once(
    repo: Repository, settings: Settings, server: FeedServer, workers: Callable[..., Worker]
) -> None:
    from goodwill.workers.dispatch import Dispatcher
    from goodwill.workers.tasks import ingest_batch, poll_source

    ws, src = setup_source(repo, server.serve("/feed.xml", Reply(feed(1, 2, 3))))
    workers(concurrency=2)
    dispatcher = Dispatcher(repo, settings)
    assert [s.id for s in dispatcher.enqueue_due()] == [src.id]
    # Queued and not yet done: the next tick does not queue it again.
    assert dispatcher.enqueue_due() == []
    wait_for(poll_done(repo, settings, src), why="the first poll")
    assert len(post_ids(repo)) == 3 and repo.sources(ws)[0].last_error is None

    # The same poll delivered again (and again, at once) while nothing changed: no new rows.
    repo.update_source(ws, src.id, next_poll_at=None)
    for _ in range(3):
        poll_source.delay(src.id)
    wait_for(lambda: len(server.requests) >= 2, why="a second poll")
    time.sleep(1.0)
    assert sorted(post_ids(repo)) == [f"https://blog.example/{i}" for i in (1, 2, 3)]

    # A stream's page handed to the workers, delivered twice: stored once, with its cursor.
    now = datetime.now(UTC).isoformat()
    posts = [
        {"id": f"s{i}", "source": "bluesky", "text": f"Brightloaf {i}", "created_at": now}
        for i in range(5)
    ]
    page = Page(posts=posts, cursor={"time_us": 42})
    asyncio.run(dispatcher.hand_off(src, page))
    ingest_batch.delay(ws, [("again", p) for p in posts], src.id, {"time_us": 42})
    wait_for(lambda: len(post_ids(repo)) == 8, why="the stream batch")
    wait_for(lambda: repo.sources(ws)[0].cursor == {"time_us": 42}, why="the cursor")
    time.sleep(1.0)
    assert Counter(post_ids(repo)).most_common(1)[0][1] == 1 and len(post_ids(repo)) == 8

    # The dispatcher's own loop (`goodwill listen` with a broker) queues the source when due.
    server.serve("/feed.xml", Reply(feed(1, 2, 3, 4)))
    repo.update_source(ws, src.id, next_poll_at=None)

    async def listen_until_stored() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        await asyncio.to_thread(wait_for, lambda: len(post_ids(repo)) == 9, 60, "dispatch")
        stop.set()
        await running

    asyncio.run(listen_until_stored())


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_killed_worker_task_is_redone_without_loss_or_repeat(
    repo: Repository, settings: Settings, server: FeedServer, workers: Callable[..., Worker]
) -> None:
    from goodwill.workers.dispatch import Dispatcher

    url = server.serve("/feed.xml", Reply(feed(1, 2, 3)))
    ws, src = setup_source(repo, url)
    first = workers()
    Dispatcher(repo, settings).enqueue_due()
    wait_for(poll_done(repo, settings, src), why="the first poll")
    assert len(post_ids(repo)) == 3

    # Two new items; the worker's next request hangs until it is killed.
    server.serve("/feed.xml", Reply(feed(1, 2, 3, 4, 5)))
    server.queued.append(Reply(feed(1, 2, 3, 4, 5), delay=30))
    repo.update_source(ws, src.id, next_poll_at=None)
    Dispatcher(repo, settings).enqueue_due()
    wait_for(lambda: len(server.requests) == 2, why="the hanging poll")
    first.kill()
    assert len(post_ids(repo)) == 3

    # Another worker gets the unacknowledged task once its lease ran out, and finishes it.
    workers()
    wait_for(lambda: len(post_ids(repo)) == 5, why="the redelivered poll")
    time.sleep(1.0)
    ids = post_ids(repo)
    assert sorted(ids) == [f"https://blog.example/{i}" for i in range(1, 6)]
    assert len(server.requests) == 3
    assert repo.sources(ws)[0].consecutive_failures == 0


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_workers_never_poll_one_source_at_once(
    repo: Repository, settings: Settings, server: FeedServer, workers: Callable[..., Worker]
) -> None:
    from goodwill.workers.app import celery_app
    from goodwill.workers.tasks import poll_source

    in_flight = 0
    most = 0
    guard = threading.Lock()

    def slow(request: Request) -> Reply:
        nonlocal in_flight, most
        with guard:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(1.0)
        with guard:
            in_flight -= 1
        return Reply(feed(1, 2))

    server.handler = slow
    _ws, src = setup_source(repo, server.url("/feed.xml"))
    workers()
    workers()
    celery_app(settings)
    for _ in range(6):
        poll_source.delay(src.id)
    client = redis.Redis.from_url(str(settings.broker_url))
    try:
        wait_for(lambda: client.llen("poll") == 0, why="the tasks to be taken")
    finally:
        client.close()
    wait_for(lambda: len(post_ids(repo)) == 2, why="the poll")
    time.sleep(2.0)  # let any second poll that would overlap happen
    assert most == 1
    assert len(server.requests) == 1  # the others saw the lock, or that it was no longer due


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_alert_outbox_is_delivered_once_by_two_workers(
    repo: Repository, settings: Settings, workers: Callable[..., Worker]
) -> None:
    from goodwill.workers.app import celery_app
    from goodwill.workers.tasks import deliver_alerts

    hook = WebhookReceiver().start()
    try:
        ws = repo.add_workspace("Brightloaf").id
        repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
        alerts = AlertService(AlertStore(repo.engine), settings)
        alerts.add_rule(
            ws,
            "all",
            "mention",
            topic="brand",
            max_per_hour=1000,
            webhooks=[(hook.url, "standard")],
        )
        now = datetime.now(UTC).isoformat()
        items = [
            (
                f"item {i}",
                {"id": f"p{i}", "source": "x", "text": f"Brightloaf {i}", "created_at": now},
            )
            for i in range(30)
        ]
        Ingestor(repo, settings, after_batch=[alerts.after_batch]).ingest(ws, items)
        workers()
        workers()
        celery_app(settings)
        for _ in range(8):
            deliver_alerts.delay()

        def sent() -> int:
            with repo.session() as s:
                return int(
                    s.scalar(
                        select(func.count())
                        .select_from(AlertDelivery)
                        .where(AlertDelivery.status == "sent")
                    )
                    or 0
                )

        wait_for(lambda: sent() == 30, why="every delivery")
        time.sleep(1.0)
        tries = Counter(hook.ids())
        assert len(tries) == 30 and set(tries.values()) == {1}
    finally:
        hook.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_worker_status_reanalysis_and_clear_errors(
    repo: Repository,
    settings: Settings,
    workers: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from goodwill.cli import app
    from goodwill.settings import get_settings

    runner = CliRunner()
    monkeypatch.setenv("GOODWILL_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        no_broker = runner.invoke(app, ["worker"])
        assert no_broker.exit_code == 1 and "GOODWILL_BROKER_URL" in no_broker.output

        monkeypatch.setenv("GOODWILL_BROKER_URL", str(settings.broker_url))
        get_settings.cache_clear()
        workers(concurrency=2)
        result = runner.invoke(app, ["workers", "status", "--json"])
        assert result.exit_code == 0, result.output
        import orjson

        info = orjson.loads(result.stdout)
        assert set(info["queues"]) == {"poll", "ingest", "analysis", "alerts"}
        assert [w["concurrency"] for w in info["workers"]] == [2]

        # Posts stored without analysis are re-scored on the workers, range by range.
        ws = repo.add_workspace("Brightloaf").id
        now = datetime.now(UTC).isoformat()
        items = [
            (
                f"item {i}",
                {"id": f"p{i}", "source": "x", "text": f"I love it {i}", "created_at": now},
            )
            for i in range(10)
        ]
        Ingestor(repo, settings, analyzers=[]).ingest(ws, items)
        queued = runner.invoke(app, ["workers", "reanalyze", "--chunk", "4", "--json"])
        assert queued.exit_code == 0, queued.output
        assert orjson.loads(queued.stdout)["tasks"] == 3

        def scored() -> int:
            with repo.session() as s:
                return sum(1 for a in s.scalars(select(Post.analysis)) if a and "sentiment" in a)

        wait_for(lambda: scored() == 10, why="the re-analysis tasks")

        dispatch = runner.invoke(app, ["listen", "--dispatch"])
        assert dispatch.exit_code == 1 and "no source to listen to" in dispatch.output
    finally:
        get_settings.cache_clear()


def test_embedded_mode_never_imports_celery() -> None:
    code = (
        "import sys, goodwill.cli, goodwill.listen, goodwill.ingest\n"
        "assert 'celery' not in sys.modules and 'redis' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
