"""What every provider fake offers the contract suite."""

from __future__ import annotations

import copy
import json
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from goodwill.sources.base import PollingSource
from tests.feedserver import FeedServer, Reply, Request

FIXTURES = Path(__file__).parent.parent / "fixtures"

HOSTILE_HTML = (
    '<p>Fresh bread <script>alert("x")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">here</a><iframe src="https://evil.example"></iframe></p>'
)
HOSTILE_VISIBLE = "Fresh bread here"


def load(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / name).read_text())


def json_reply(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        json.dumps(value).encode(),
        status=status,
        content_type="application/json; charset=utf-8",
        headers=headers or {},
    )


class ProviderFake(ABC):
    """A provider's API on a local server, with a world of items the tests grow."""

    kind: ClassVar[str]
    source: ClassVar[type[PollingSource]]
    post_source: ClassVar[str | None] = None
    """The posts' ``source`` when it is not the kind (several kinds read one network)."""
    text_is_html: ClassVar[bool] = True
    """False for networks whose posts are plain text as typed (Bluesky): kept verbatim."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        server.handler = self.handle
        # Items are stamped one second apart, ending in the past: within the backfill window.
        self.clock = int(time.time()) - 3600
        self.ignore_cursor_once = False

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Settings of a source reading this fake (page size small, to exercise paging)."""

    @abstractmethod
    def add(self, count: int, text: str = "bread talk") -> list[str]:
        """Publish ``count`` new items; return their post ids as the connector names them."""

    @abstractmethod
    def add_html(self, html: str) -> str:
        """Publish an item whose text field holds ``html``; return its post id."""

    @abstractmethod
    def add_old(self) -> str:
        """Publish an item older than the backfill window (a first poll must not read it)."""

    @abstractmethod
    def add_malformed(self) -> None:
        """Publish an item that breaks the provider's documented shape."""

    @abstractmethod
    def rate_limited(self, wait: int) -> Reply:
        """A 429 answer with the provider's own reset header, asking to wait ``wait`` s."""

    @abstractmethod
    def handle(self, request: Request) -> Reply | None:
        """Answer one request as the provider would."""

    @staticmethod
    def clone(template: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(template)
