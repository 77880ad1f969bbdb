"""A Jetstream-like WebSocket server on 127.0.0.1 that replays events, for connector tests.

Real WebSocket over TCP (the ``websockets`` server in a thread of its own): it honours
``wantedCollections``, ``wantedDids`` and ``cursor`` as Jetstream does, keeps the connection open
for events appended later, records the cursor of every connection, and can drop a connection
mid-stream without a closing handshake, as a network failure would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve

__all__ = ["JetstreamServer", "running_jetstream"]


class JetstreamServer:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.cursors: list[int | None] = []
        self.queries: list[dict[str, list[str]]] = []
        self.drop_after: int | None = None  # drop the next connection after this many sends
        self.refuse: int = 0  # refuse this many connections (HTTP 503 at the handshake)
        self.redirect_to: str | None = None  # answer every handshake with a 302 to this
        self.port = 0
        self._server: Server | None = None

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        self.queries.append(query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        self.cursors.append(cursor)
        wanted = set(query.get("wantedCollections", []))
        dids = set(query.get("wantedDids", []))
        drop_after, self.drop_after = self.drop_after, None
        sent = 0
        index = 0
        while True:
            while index < len(self.events):
                event = self.events[index]
                index += 1
                if cursor is not None and event["time_us"] < cursor:
                    continue
                commit = event.get("commit") or {}
                if (
                    event.get("kind") == "commit"
                    and wanted
                    and commit.get("collection") not in wanted
                ):
                    continue
                if dids and event.get("did") not in dids:
                    continue
                if drop_after is not None and sent >= drop_after:
                    ws.transport.abort()  # no close frame: the network went away
                    return
                await ws.send(event["raw"] if "raw" in event else json.dumps(event))
                sent += 1
            try:  # wait for more events, and notice when the client is gone
                await asyncio.wait_for(ws.wait_closed(), 0.02)
                return
            except TimeoutError:
                pass

    async def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        if self.redirect_to is not None:
            self.cursors.append(None)  # a handshake answered (not upgraded)
            response = connection.respond(302, "moved\n")
            response.headers["Location"] = self.redirect_to
            return response
        if self.refuse:
            self.refuse -= 1
            return connection.respond(503, "busy\n")
        return None


@contextmanager
def running_jetstream() -> Iterator[JetstreamServer]:
    srv = JetstreamServer()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        async with serve(
            srv._handler, "127.0.0.1", 0, process_request=srv._process_request
        ) as server:
            srv._server = server
            srv.port = next(iter(server.sockets)).getsockname()[1]
            started.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(5)
    try:
        yield srv
    finally:
        loop.call_soon_threadsafe(
            lambda: stop is not None and not stop.done() and stop.set_result(None)
        )
        thread.join(5)
        loop.close()
