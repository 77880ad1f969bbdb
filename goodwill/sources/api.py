"""JSON APIs over the guarded client: retries, rate limits and clear errors, once for every network.

A connector calls ``JsonApi.request`` and gets parsed JSON or one of the source exceptions:

* 5xx answers and dropped connections are retried a few times within the poll, waiting
  ``backoff_seconds`` (the listener's back-off, with jitter) between tries; when they keep
  failing the poll fails and the listener backs off on its own, longer schedule;
* 429 (and 503 with a reset) becomes ``RateLimited`` with the wait the provider's own headers ask
  for (see ``ratelimit``);
* anything else that is not 2xx, a body that is not JSON, or one too large becomes a
  ``SourceError`` whose message says what was asked and what came back, never a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import anyio
import httpx
import orjson

from goodwill.net import BlockedAddress, redact_url
from goodwill.sources.base import RateLimited, SourceError
from goodwill.sources.ratelimit import ResetStyle, backoff_seconds, rate_limit_state, wait_seconds

__all__ = ["MAX_BODY_BYTES", "JsonApi", "describe_error"]

MAX_BODY_BYTES: Final = 20 * 1024 * 1024
RETRIES: Final = 2
"""Extra tries after a 5xx or a dropped connection, within one poll."""
RETRY_BASE_S = 1.0
"""First wait before a retry; doubled per try, with jitter. Tests make it small."""
RETRY_MAX_S: Final = 30.0


def describe_error(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JsonApi:
    """One provider's API as seen by one source: its base URL, rate-limit style and auth."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        style: ResetStyle,
        *,
        provider: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.style = style
        self.provider = provider
        self.headers = dict(headers or {})
        self.rate_limit: dict[str, Any] | None = None
        self.last_response: httpx.Response | None = None

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        retry: bool | None = None,
    ) -> Any:
        """Parsed JSON of a 2xx answer; ``RateLimited`` or ``SourceError`` otherwise.

        Only safe requests are retried: GETs, and others when ``retry`` says the provider makes
        them idempotent (a token request, a POST with an idempotency key). A reply posted twice
        is worse than a reply that failed and says so.
        """
        tries = RETRIES + 1 if (method == "GET" if retry is None else retry) else 1
        url = self.url(path)
        shown = f"{method} {redact_url(url)}"
        merged = {"Accept": "application/json", **self.headers, **(headers or {})}
        failure = ""
        for attempt in range(tries):
            if attempt:
                await anyio.sleep(backoff_seconds(RETRY_BASE_S, attempt, RETRY_MAX_S))
            try:
                response = await self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=merged,
                    auth=auth,
                )
            except BlockedAddress as exc:
                raise SourceError(f"refused {shown}: {exc}") from exc
            except httpx.TooManyRedirects:
                raise SourceError(f"too many redirects for {shown}") from None
            except httpx.TransportError as exc:  # timeouts, resets, refused connections
                failure = f"{shown} failed: {describe_error(exc)}"
                continue
            self.last_response = response
            state = rate_limit_state(response.headers, self.style)
            if state is not None:
                self.rate_limit = state
            status = response.status_code
            if status == 429 or (status == 503 and self._asked_to_wait(response)):
                wait = wait_seconds(response.headers, self.style)
                shown_wait = "" if wait is None else f"; {self.provider} asks to wait {wait:g} s"
                raise RateLimited(
                    f"HTTP {status} (rate limited) from {shown}{shown_wait}",
                    wait if wait is not None else 60.0,
                )
            if status >= 500:
                failure = f"HTTP {status} from {shown}"
                if attempt:
                    failure += f" after {attempt + 1} tries"
                continue
            if not 200 <= status < 300:
                raise SourceError(f"HTTP {status} from {shown}{_hint(status, response)}")
            return self._parse(response, shown)
        raise SourceError(failure)

    def _asked_to_wait(self, response: httpx.Response) -> bool:
        return wait_seconds(response.headers, self.style) is not None

    @staticmethod
    def _parse(response: httpx.Response, shown: str) -> Any:
        body = response.content
        if len(body) > MAX_BODY_BYTES:
            raise SourceError(f"the answer to {shown} is larger than {MAX_BODY_BYTES >> 20} MB")
        if not body.strip():
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            start = body[:60].decode("utf-8", "replace")
            raise SourceError(
                f"the answer to {shown} is not valid JSON ({exc}); it starts {start!r}"
            ) from None


def _hint(status: int, response: httpx.Response) -> str:
    """A short reason from the provider's error body, when it gives one."""
    try:
        body = orjson.loads(response.content[:4096])
    except orjson.JSONDecodeError:
        body = None
    reason = ""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]  # Google's {"error": {"code", "message", "errors"}}
    if isinstance(body, Mapping):
        code, message = body.get("error"), body.get("message")
        if isinstance(code, str) and isinstance(message, str) and code and message.strip():
            body = {"message": f"{code}: {message.strip()}"}  # XRPC: a code and a sentence
        for key in ("error_description", "error", "message", "detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                reason = value.strip()[:200]
                break
    if status in (401, 403):
        return f": {reason or 'not authorised'} (check the token and its scopes)"
    return f": {reason}" if reason else ""
