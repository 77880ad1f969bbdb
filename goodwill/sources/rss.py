"""RSS and Atom feeds (RSS 0.9x, 1.0, 2.0 and Atom 1.0), Google Alerts feeds included.

Polite: every poll is a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the
cursor), and a feed whose bytes did not change is not parsed again even when its server ignores
validators. feedparser only ever sees bytes we fetched through the guarded client: it never
fetches anything itself, nor opens files.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, urljoin, urlsplit

import anyio
import anyio.to_thread
import feedparser
import httpx

from goodwill.net import MAX_REDIRECTS, BlockedAddress, check_url, redact_url
from goodwill.pipeline.sanitise import html_to_text
from goodwill.sources.base import ConfigError, Page, PollingSource, RateLimited, SourceError

__all__ = ["MAX_FEED_BYTES", "RssSource", "unwrap_google_url"]

MAX_FEED_BYTES: Final = 10 * 1024 * 1024
MIN_INTERVAL: Final = 60.0
_MAX_ID = 512  # what pipeline.normalise accepts for ids
_MAX_URL = 4096
_MAX_NAME = 200
_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# bozo reasons that do not mean the XML was broken: the document was still parsed strictly.
_HARMLESS_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_GOOGLE_HOST_RE = re.compile(r"^(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$")


class RssSource(PollingSource):
    """One feed. Config: ``{"url": ..., "interval": seconds (default 900, at least 60)}``."""

    kind: ClassVar[str] = "rss"
    default_interval: ClassVar[float] = 900.0
    max_bytes: ClassVar[int] = MAX_FEED_BYTES

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(config, Mapping):
            raise ConfigError(f"expected settings as an object, got {type(config).__name__}")
        unknown = sorted(set(config) - {"url", "interval"})
        if unknown:
            raise ConfigError(
                f"unknown setting {', '.join(map(repr, unknown))}: an rss source takes "
                "'url' and 'interval'"
            )
        url = config.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError("url: required, the address of an RSS or Atom feed")
        try:
            url = check_url(url)
        except ValueError as exc:
            raise ConfigError(f"url: {exc}") from None
        interval = config.get("interval")
        if interval is None or interval == "":
            interval = cls.default_interval
        if isinstance(interval, str):
            try:
                interval = float(interval.strip())
            except ValueError:
                raise ConfigError(f"interval: expected seconds, got {interval!r}") from None
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise ConfigError(f"interval: expected seconds, got {type(interval).__name__}")
        if not math.isfinite(interval) or interval < MIN_INTERVAL:
            raise ConfigError(
                f"interval: at least {MIN_INTERVAL:g} seconds between polls, got {interval:g}"
            )
        return {"url": url, "interval": float(interval)}

    @property
    def url(self) -> str:
        return str(self.config["url"])

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        headers = {"Accept": _ACCEPT}
        etag, modified = cursor.get("etag"), cursor.get("last_modified")
        if isinstance(etag, str) and etag:
            headers["If-None-Match"] = etag
        if isinstance(modified, str) and modified:
            headers["If-Modified-Since"] = modified
        shown = redact_url(self.url)
        deadline = _deadline(self.http.timeout)
        try:
            with anyio.fail_after(deadline):
                async with self.http.stream("GET", self.url, headers=headers) as response:
                    if response.status_code == 304:
                        return Page(posts=[], cursor=dict(cursor), not_modified=True)
                    _raise_for_status(response, shown, self.config["interval"])
                    body = await _read_capped(response, self.max_bytes, shown)
        except TimeoutError:
            raise SourceError(f"gave up fetching {shown} after {deadline:g} seconds") from None
        except BlockedAddress as exc:
            raise SourceError(f"refused to fetch {shown}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise SourceError(f"timed out fetching {shown} ({_describe(exc)})") from exc
        except httpx.TooManyRedirects:
            raise SourceError(
                f"too many redirects fetching {shown} (more than {MAX_REDIRECTS})"
            ) from None
        except httpx.ConnectError as exc:
            raise SourceError(f"could not connect to fetch {shown}: {_describe(exc)}") from exc
        except httpx.HTTPError as exc:
            raise SourceError(f"could not fetch {shown}: {_describe(exc)}") from exc

        digest = hashlib.sha256(body).hexdigest()
        new_cursor = dict(cursor)
        new_cursor.update(
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            sha256=digest,
        )
        if cursor.get("sha256") == digest:  # the server ignores validators; nothing changed
            return Page(posts=[], cursor=new_cursor, not_modified=True)
        # No Content-Location for feedparser: it would also "resolve" ids such as guid 12 into
        # https://host/12, which other feeds on that host can share. We resolve links ourselves.
        meta = {
            k: v
            for k in ("content-type", "content-language")
            if (v := response.headers.get(k)) is not None
        }
        posts, problems = await anyio.to_thread.run_sync(
            _parse_feed, body, meta, self.url, str(response.url), datetime.now(UTC)
        )
        return Page(posts=posts, cursor=new_cursor, problems=problems)


def _deadline(timeout: httpx.Timeout) -> float:
    """Longest a whole fetch may take: generous, but a server dripping bytes cannot hold us."""
    return 6 * (timeout.read or 50.0)


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _raise_for_status(response: httpx.Response, shown: str, interval: float) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (429, 503):
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if retry_after is not None or status == 429:
            wait = retry_after if retry_after is not None else interval
            raise RateLimited(f"HTTP {status} from {shown}: asked to wait {wait:g} s", wait)
    raise SourceError(f"HTTP {status} from {shown}")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def _read_capped(response: httpx.Response, limit: int, shown: str) -> bytes:
    too_big = f"the feed at {shown} is larger than {limit / 1_048_576:g} MB; not reading it"
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise SourceError(too_big)
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is counted unpacked
        body += chunk
        if len(body) > limit:
            raise SourceError(too_big)
    return bytes(body)


def _parse_feed(
    body: bytes, meta: dict[str, str], feed_url: str, base_url: str, fetched_at: datetime
) -> tuple[list[dict[str, Any]], list[str]]:
    # A stream, never bytes or str: given those, feedparser may fetch URLs or open local files.
    # Its own HTML sanitiser is off: html_to_text removes all markup anyway, and is 100 times
    # faster on a large entry.
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers=meta, sanitize_html=False, resolve_relative_uris=False
    )
    entries = parsed.get("entries") or []
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    broken = bozo is not None and not isinstance(bozo, _HARMLESS_BOZO)
    if not entries and (broken or not parsed.get("version")):
        reason = str(bozo) if broken else "no RSS or Atom root element"
        hint = ""
        if "html" in meta.get("content-type", "").lower():
            hint = " (the server sent an HTML page: use the address of its feed instead)"
        raise SourceError(f"not a valid RSS or Atom feed: {reason}{hint}")
    problems: list[str] = []
    if broken:
        problems.append(
            f"the feed is not well-formed XML ({bozo}); {len(entries)} entries were recovered"
        )
    feed = _Feed(parsed.get("feed") or {}, feed_url, base_url, meta.get("content-language"))
    posts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        post = feed.post(entry, number, fetched_at, problems)
        if post is None:
            continue
        if post["id"] in seen:
            problems.append(f"entry {number} ({post['id']}): same id as an earlier entry, skipped")
            continue
        seen.add(post["id"])
        posts.append(post)
    return posts, problems


class _Feed:
    """Feed-level facts that every entry falls back on."""

    def __init__(
        self, feed: Mapping[str, Any], url: str, base: str, header_lang: str | None
    ) -> None:
        self.url = url  # as configured: ids built from it stay stable across redirects
        self.base = base  # where the feed was finally fetched: relative links resolve here
        self.title = html_to_text(_str(feed.get("title")))[:_MAX_NAME] or None
        link = _http_url(_resolve(base, _plain(feed.get("link"))))
        self.host = _host(link) or _host(url)
        self.lang = _lang(feed.get("language")) or _lang(header_lang)
        self.author = feed.get("author_detail") or None

    def post(
        self, entry: Mapping[str, Any], number: int, fetched_at: datetime, problems: list[str]
    ) -> dict[str, Any] | None:
        raw_title, raw_link = _str(entry.get("title")), _plain(entry.get("link"))
        link = unwrap_google_url(_resolve(self.base, raw_link)) if raw_link else ""
        url = _http_url(link)
        label = (_plain(entry.get("id")) or raw_link or html_to_text(raw_title))[:80]
        where = f"entry {number}" + (f" ({label})" if label else "")
        if link and url is None and not entry.get("guidislink"):  # a guid is not always a URL
            problems.append(f"{where}: link {link[:60]!r} is not an http(s) address; dropped")

        title = html_to_text(raw_title)
        body = html_to_text(_body(entry))
        if not title and not body:
            problems.append(f"{where}: no title and no text; skipped")
            return None
        if not body or body == title:
            text = title
        elif not title:
            text = body
        else:
            text = f"{title} — {body}"

        created_at, why = _created_at(entry, fetched_at)
        post: dict[str, Any] = {
            "id": self._id(entry, url, raw_title, raw_link),
            "source": RssSource.kind,
            "url": url,
            "text": text,
            "created_at": created_at.isoformat(),
            "author": self._author(entry, url),
            "feed_url": self.url,
            "feed_title": self.title,
            "title": title or None,
        }
        if why is not None:
            post["created_at_is_fetch_time"] = True
            if why:  # a date that is there but unusable is worth telling; none at all is common
                problems.append(f"{where}: {why}; using the time it was fetched")
        lang = _entry_lang(entry) or self.lang
        if lang:
            post["lang"] = lang
        return post

    def _id(self, entry: Mapping[str, Any], url: str | None, title: str, link: str) -> str:
        given = _plain(entry.get("id"))
        if given:
            if _http_url(given) or given.lower().startswith("tag:"):
                return _bounded(given)
            return _bounded(f"{self.url}#{given}")  # "post-12" is only unique within its feed
        if url:
            return _bounded(url)
        digest = hashlib.sha256(f"{title}\n{link}".encode("utf-8", "replace")).hexdigest()
        return _bounded(f"{self.url}#sha256:{digest[:32]}")

    def _author(self, entry: Mapping[str, Any], url: str | None) -> dict[str, Any]:
        host = _host(url) or self.host
        for detail in (entry.get("author_detail"), self.author):
            if not isinstance(detail, Mapping):
                continue
            name = html_to_text(_str(detail.get("name")))[:_MAX_NAME]
            email = _plain(detail.get("email"))[:_MAX_NAME]
            href = _http_url(_plain(detail.get("href")))
            if href and len(href) <= _MAX_ID:
                return {"id": href, "handle": None, "name": name or None}
            if name:
                return {"id": _bounded(f"{host}:{name.casefold()}"), "handle": None, "name": name}
            if email:
                return {"id": _bounded(f"mailto:{email.lower()}"), "handle": None, "name": None}
        # No author given (Google Alerts never gives one): the site that published it.
        name = self.title if self.title and host == self.host else host
        return {"id": host, "handle": host, "name": name}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _plain(value: Any) -> str:
    """A short non-HTML field (id, link, email, date): no control characters, trimmed."""
    return _CONTROL_RE.sub("", _str(value)).strip()


def _body(entry: Mapping[str, Any]) -> str:
    """The fullest text an entry has: its content, else its summary/description."""
    content = entry.get("content")
    if isinstance(content, list):
        values = [c.get("value") for c in content if isinstance(c, Mapping)]
        texts = [v for v in values if isinstance(v, str) and v.strip()]
        if texts:
            return max(texts, key=len)
    return _str(entry.get("summary"))


def _resolve(base: str, link: str) -> str:
    try:
        return urljoin(base, link) if link else ""
    except ValueError:
        return link


def _bounded(value: str) -> str:
    if len(value) <= _MAX_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _http_url(value: str) -> str | None:
    value = value.strip()
    if not value or len(value) > _MAX_URL or any(ord(c) <= 0x20 for c in value):
        return None
    try:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:  # "http://[::1" and friends
        return None
    return value


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def unwrap_google_url(link: str) -> str:
    """``https://www.google.com/url?…&url=REAL&…`` (Google Alerts' click tracker) → ``REAL``."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return link
    if not _GOOGLE_HOST_RE.match((parts.hostname or "").lower()) or parts.path != "/url":
        return link
    query = parse_qs(parts.query)
    for key in ("url", "q"):
        for candidate in query.get(key, []):
            if _http_url(candidate):
                return candidate
    return link


def _lang(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    tag = value.strip().lower().replace("_", "-")
    return tag if _LANG_RE.match(tag) else None


def _entry_lang(entry: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if isinstance(detail, Mapping) and (lang := _lang(detail.get("language"))):
            return lang
    for content in entry.get("content") or []:
        if isinstance(content, Mapping) and (lang := _lang(content.get("language"))):
            return lang
    return None


def _created_at(entry: Mapping[str, Any], fetched_at: datetime) -> tuple[datetime, str | None]:
    """The entry's date in UTC, or the fetch time and why (``""``: the feed gave no date)."""
    latest = fetched_at + timedelta(days=1)
    why = ""
    for key in ("published", "updated", "created"):
        raw = _plain(entry.get(key))[:60]
        parsed = entry.get(f"{key}_parsed")
        if isinstance(parsed, time.struct_time):
            try:
                when = datetime(*parsed[:6], tzinfo=UTC)
            except ValueError:
                why = why or f"date {raw!r} does not exist"
                continue
            if when.year < 1990 or when > latest:
                why = why or f"date {raw!r} is not believable"
                continue
            return when, None
        if raw:
            why = why or f"date {raw!r} could not be read"
    return fetched_at, why
