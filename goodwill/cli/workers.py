"""Scale-out commands: `goodwill worker` runs Celery tasks, `goodwill workers` looks at them.

Celery is imported only inside these commands, so the embedded mode never needs it.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from goodwill.cli._context import App, JsonOpt, WorkspaceOpt, console, fail, print_json, table
from goodwill.settings import Settings
from goodwill.store.tables import Source
from goodwill.workers import QUEUES, scale_out

__all__ = ["worker", "workers_app"]

workers_app = typer.Typer(help="Scale-out: Celery workers on Redis (see docs/operations.md).")

NO_BROKER = (
    "no broker configured: set GOODWILL_BROKER_URL (for example redis://localhost:6379/0) "
    "and install the workers extra (pip install 'goodwill[workers]')"
)


def _need_broker(settings: Settings) -> None:
    if not scale_out(settings):
        fail(NO_BROKER)
    try:
        import celery  # noqa: F401
    except ImportError:
        fail("Celery is not installed: pip install 'goodwill[workers]'")


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, help="Task processes (default: one per CPU core)."
        ),
    ] = None,
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            "-Q",
            help=f"Comma-separated queues to take tasks from: {', '.join(QUEUES)}.",
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "info",
) -> None:
    """Run a Celery worker: polls sources, stores batches, analyses, refreshes inboxes and
    delivers alerts, for as long as it runs. Start as many as the machines allow."""
    app = App.open()
    _need_broker(app.settings)
    wanted = [q.strip() for q in (queues or ",".join(QUEUES)).split(",") if q.strip()]
    unknown = sorted(set(wanted) - set(QUEUES))
    if unknown:
        fail(f"unknown queue {', '.join(unknown)}: the queues are {', '.join(QUEUES)}")
    # Bring the schema up to date once, here, then let go of the connections before the pool
    # forks: each task process opens its own.
    app.repo.engine.dispose()
    from goodwill.workers.app import celery_app

    celery_app(app.settings).worker_main(
        [
            "worker",
            f"--concurrency={concurrency or os.cpu_count() or 1}",
            f"--queues={','.join(wanted)}",
            f"--loglevel={loglevel}",
            f"--hostname=goodwill-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
    )


@workers_app.command("status")
def status(json: JsonOpt = False) -> None:
    """Tasks waiting in each queue, and the workers that answer (with what they run now)."""
    app = App.open()
    _need_broker(app.settings)
    from goodwill.workers.status import workers_status

    try:
        info = workers_status(app.settings)
    except Exception as exc:  # the broker is down or unreachable: say so plainly
        fail(f"cannot reach the broker {app.settings.broker_url!r}: {exc}")
    if json:
        print_json(info)
        return
    console.print(f"Broker: {info['broker']}", markup=False)
    table("Queues", ["queue", "waiting"], list(info["queues"].items()))
    if not info["workers"]:
        console.print("No worker answered: start one with `goodwill worker`.")
        return
    table(
        "Workers",
        ["worker", "processes", "running now", "tasks done"],
        [
            [w["name"], w["concurrency"], ", ".join(w["active"]) or "idle", w["processed"]]
            for w in info["workers"]
        ],
    )


@workers_app.command("reanalyze")
def reanalyze(
    workspace: WorkspaceOpt = None,
    everything: Annotated[
        bool, typer.Option("--everything", help="Re-score every post, not only stale ones.")
    ] = False,
    chunk: Annotated[int, typer.Option(min=1, help="Posts per task.")] = 5000,
    json: JsonOpt = False,
) -> None:
    """Re-score the workspace's posts on the workers, one task per range of posts."""
    app = App.open()
    _need_broker(app.settings)
    ws = app.workspace(workspace)
    from goodwill.workers.dispatch import dispatch_reanalysis

    ranges = dispatch_reanalysis(app.repo, app.settings, ws.id, chunk=chunk, everything=everything)
    if json:
        print_json({"tasks": len(ranges), "ranges": ranges})
    else:
        console.print(
            f"Queued {len(ranges)} re-analysis tasks for workspace {ws.name}.", markup=False
        )


def dispatch_loop(app: App) -> None:
    """`goodwill listen` with a broker: queue due sources and alert work, run streams here."""
    import asyncio
    import contextlib
    import signal

    _need_broker(app.settings)
    from goodwill.workers.dispatch import Dispatcher

    def queued(src: Source) -> None:
        console.print(f"queued a poll of {src.name} (workspace {src.workspace_id})", markup=False)

    dispatcher = Dispatcher(app.repo, app.settings, on_queued=queued)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await dispatcher.run(stop)

    console.print("Dispatching to workers (Ctrl-C to stop): `goodwill workers status` shows them.")
    asyncio.run(main())
    console.print("Stopped. Queued tasks stay queued; workers go on with them.")
