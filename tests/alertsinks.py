"""Real receivers for alert tests: a webhook HTTP server and an SMTP server on 127.0.0.1.

``WebhookReceiver`` records every request (headers, body, arrival time) and answers with the
status its ``answer`` function picks; an answer of ``None`` holds the request open until
``release`` (a receiver that hangs, for crash tests). ``SmtpReceiver`` is aiosmtpd's threaded
controller with a handler that keeps each message's envelope and parsed content.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    path: str


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many deliveries arrive at once; the default 5 resets some
    daemon_threads = True


@dataclass
class WebhookReceiver:
    answer: Callable[[int, Received], int | None] = lambda n, r: 204
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)
    on_request: Callable[[Received], None] | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                got = Received(
                    {k.lower(): v for k, v in self.headers.items()}, body, time.time(), self.path
                )
                with receiver.lock:
                    receiver.requests.append(got)
                    n = len(receiver.requests)
                if receiver.on_request is not None:
                    receiver.on_request(got)
                status = receiver.answer(n, got)
                if status is None:
                    receiver.released.wait(60)
                    return  # the client is gone by now; send nothing
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.requests]


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.tls: list[bool] = []  # per message: did it arrive over TLS (implicit or STARTTLS)
        self.logins: list[Any] = []  # per message: the session's login (None: none)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
            self.logins.append(
                getattr(session.auth_data, "login", None) if session.authenticated else None
            )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpReceiver:
    def __init__(self, **smtp_options: Any) -> None:
        self.handler = _Collect()
        self.port = _free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **smtp_options
        )

    def start(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[tuple[str, list[str], EmailMessage]]:
        with self.handler.lock:
            return list(self.handler.messages)
