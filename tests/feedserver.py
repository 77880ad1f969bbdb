"""A small HTTP server on 127.0.0.1 for connector tests: routes, conditional GET, faults.

Real HTTP, no mocks: tests tell it what to answer on a path (status, headers, ETag, a delay,
a body dripped byte by byte) and read what clients sent. ``loopback_only`` is a tripwire under
the outbound guard: any connection to a non-loopback address fails the test before a packet
leaves the machine.
"""

from __future__ import annotations

import gzip
import ipaddress
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest

__all__ = ["FeedServer", "Reply", "Request", "loopback_only", "running_server"]


@dataclass
class Reply:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # before the status line
    drip: float = 0.0  # between body bytes
    send_length: bool = True
    gzip: bool = False
    # A long-lived streamed body (server-sent events, NDJSON), sent chunked: each bytes item is
    # one chunk, each float a pause in seconds. The items are produced lazily, so a generator
    # can publish to the fake's world while the stream is open.
    stream: Iterable[bytes | float] | None = None
    abort: bool = False  # end the stream without its last chunk, as a dropped connection does


@dataclass
class Request:
    """What a client sent, for API fakes that answer by query parameters."""

    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.path, dict(self.headers.items())))
        parts = urlsplit(self.path)
        request = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            dict(self.headers.items()),
            body,
        )
        self.server.requests.append(request)
        reply = None
        if self.server.queued:
            reply = self.server.queued.pop(0)
        if reply is None and self.server.handler is not None:
            reply = self.server.handler(request)
        if reply is None:
            reply = self.server.routes.get(self.path) or self.server.default
        if reply.delay and self.server.stopping.wait(reply.delay):
            return
        if (reply.etag and self.headers.get("If-None-Match") == reply.etag) or (
            reply.last_modified and self.headers.get("If-Modified-Since") == reply.last_modified
        ):
            self.send_response(304)
            self.end_headers()
            return
        if reply.stream is not None:
            self._stream(reply)
            return
        body = gzip.compress(reply.body) if reply.gzip else reply.body
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        if reply.send_length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in [("ETag", reply.etag), ("Last-Modified", reply.last_modified)]:
            if value:
                self.send_header(name, value)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not reply.drip:
            self.wfile.write(body)
            return
        for i in range(len(body)):
            if self.server.stopping.wait(reply.drip):
                return
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()

    def _stream(self, reply: Reply) -> None:
        assert reply.stream is not None
        self.protocol_version = "HTTP/1.1"  # chunked transfer needs it
        self.close_connection = True
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for piece in reply.stream:
                if isinstance(piece, float):
                    if self.server.stopping.wait(piece):
                        return
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            if not reply.abort:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client hung up

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Reply] = {}
        self.default = Reply(b"not found", status=404)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.requests: list[Request] = []
        # Answers given before anything else, one per request (faults: 429, 500 ...).
        self.queued: list[Reply] = []
        # Answers by request when set (API fakes); ``None`` falls back to the routes.
        self.handler: Callable[[Request], Reply | None] | None = None
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def redirect(self, path: str, location: str) -> None:
        self.routes[path] = Reply(status=302, headers={"Location": location}, content_type=None)

    def serve(self, path: str, reply: Reply | bytes) -> str:
        self.routes[path] = reply if isinstance(reply, Reply) else Reply(reply)
        return self.url(path)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (timeouts, size limits) are expected here


@contextmanager
def running_server() -> Iterator[FeedServer]:
    srv = FeedServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire under the guard: should it ever let a non-loopback address through, the
    test fails here instead of sending a packet off this machine."""
    real = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(
        self: httpcore.AnyIOBackend, host: str, port: int, **kw: Any
    ) -> httpcore.AsyncNetworkStream:
        if not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"the guard let a connection to {host} through")
        return await real(self, host, port, **kw)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
