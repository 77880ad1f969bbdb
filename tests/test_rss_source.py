"""RssSource against a real HTTP server on 127.0.0.1 serving tests/fixtures/rss/."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

import goodwill.sources as registry
from goodwill.net import make_client
from goodwill.pipeline.normalise import parse_post
from goodwill.settings import Settings
from goodwill.sources import (
    ConfigError,
    Page,
    PollingSource,
    RateLimited,
    SourceError,
    available_sources,
    get_source_class,
)
from goodwill.sources.rss import MAX_FEED_BYTES, RssSource, unwrap_google_url
from tests.feedserver import FeedServer, Reply, loopback_only, running_server

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
TAG_RE = re.compile(r"<[A-Za-z/!?]")
XML = "application/rss+xml; charset=utf-8"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_only(monkeypatch)


def poll(
    url: str,
    cursor: Mapping[str, Any] | None = None,
    *,
    timeout: float = 2.0,
    source: type[RssSource] = RssSource,
    config: Mapping[str, Any] | None = None,
) -> Page:
    settings = Settings(_env_file=None, http_timeout=timeout)

    async def go() -> Page:
        # Loopback only: the guard stays on for everything else, redirects included.
        async with make_client(settings, allow_private=False, allow_loopback=True) as client:
            rss = source("test", {"url": url, **(config or {})}, client)
            return await rss.poll(cursor or {})

    return asyncio.run(go())


def by_id(page: Page) -> dict[str, dict[str, Any]]:
    return {post["id"]: post for post in page.posts}


def rss(*items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Inline</title>'
        f"<link>https://inline.example/</link><description>x</description>{channel}"
        f"{''.join(items)}</channel></rss>"
    ).encode()


# --- formats -----------------------------------------------------------------------------------


def test_rss2(server: FeedServer) -> None:
    url = server.serve("/rss2.xml", Reply(fixture("rss2.xml"), content_type=XML))
    page = poll(url)
    posts = by_id(page)
    assert len(page.posts) == 4
    assert posts["https://blog.acme.example/2024/05/huila"] == {
        "id": "https://blog.acme.example/2024/05/huila",
        "source": "rss",
        "url": "https://blog.acme.example/2024/05/huila",
        "text": "New single origin: Huila & Nariño — Our new beans are in. Order & enjoy.",
        "created_at": "2024-05-07T06:30:00+00:00",
        "lang": "en-gb",
        "author": {"id": "blog.acme.example:maya ortiz", "handle": None, "name": "Maya Ortiz"},
        "feed_url": url,
        "feed_title": "Acme Coffee Blog",
        "title": "New single origin: Huila & Nariño",
    }
    # A guid that is not a URL is only unique within its feed: prefixed with the feed URL.
    hours = posts[f"{url}#post-1182"]
    assert hours["url"] == "https://blog.acme.example/2024/04/hours"
    assert hours["created_at"] == "2024-04-01T12:00:00+00:00"
    assert hours["author"] == {
        "id": "blog.acme.example",
        "handle": "blog.acme.example",
        "name": "Acme Coffee Blog",
    }
    # No title: the text alone; no guid: the link is the id; no date: the fetch time.
    note = posts["https://blog.acme.example/notes/7"]
    assert note["text"] == "A quick note without a title, a guid or a date."
    assert note["title"] is None
    assert note["created_at_is_fetch_time"] is True
    assert datetime.fromisoformat(note["created_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    # No guid and no link: a stable hash, prefixed with the feed URL.
    (hashed,) = [p for p in page.posts if p["text"] == "Only a title, nothing else"]
    assert re.fullmatch(re.escape(url) + r"#sha256:[0-9a-f]{32}", hashed["id"])
    assert hashed["url"] is None
    assert hashed["id"] in by_id(poll(url))
    # An entry with neither title nor text is named and skipped.
    assert page.problems == ["entry 5 (empty-1): no title and no text; skipped"]
    assert page.cursor["etag"] is None
    assert not page.not_modified


def test_atom(server: FeedServer) -> None:
    url = server.serve("/atom.xml", Reply(fixture("atom.xml"), content_type="application/atom+xml"))
    page = poll(url)
    assert page.problems == []
    first, guest = page.posts
    assert first["id"] == "tag:zoe.example.org,2024:acme"
    assert first["url"] == "https://zoe.example.org/2024/acme"
    # type="html" title and xhtml content: markup gone; content preferred over summary.
    assert first["text"] == "Pourquoi j'aime Acme — Le café d'Acme est excellent."
    assert first["created_at"] == "2024-05-01T16:15:00+00:00"  # published wins over updated
    assert first["lang"] == "fr"
    # No entry author: the feed's author (Atom inheritance), identified by their URI.
    assert first["author"] == {
        "id": "https://zoe.example.org/about",
        "handle": None,
        "name": "Zoé Martin",
    }
    assert first["feed_title"] == "Le carnet de Zoé"
    # An id that is neither a URL nor a tag: URI is only unique within its feed.
    assert guest["id"] == f"{url}#guest-1"
    assert guest["text"] == "Guest post by Sam — Hello from a guest."
    assert guest["created_at"] == "2024-04-20T08:00:00+00:00"  # only updated given
    assert guest["lang"] == "en"
    assert guest["author"] == {"id": "zoe.example.org:sam lee", "handle": None, "name": "Sam Lee"}


def test_rss1_rdf(server: FeedServer) -> None:
    url = server.serve("/rss1.rdf", Reply(fixture("rss1.rdf"), content_type="application/rdf+xml"))
    (post,) = poll(url).posts
    assert post["id"] == "https://old.example.com/n/1"
    assert post["text"] == "Kaffee bei Acme — Sehr gut, sagt man."
    assert post["created_at"] == "2024-03-03T06:00:00+00:00"
    assert post["lang"] == "de"
    assert post["author"]["name"] == "Jörg"
    assert post["feed_title"] == "Old School Notes"


def test_google_alerts(server: FeedServer) -> None:
    url = server.serve("/alerts/feeds/0123/9876", Reply(fixture("google-alerts.xml")))
    page = poll(url)
    assert page.problems == []
    leeds, review = page.posts
    assert leeds["id"] == "tag:google.com,2013:googlealerts/feed:11111111111111111111"
    # The click tracker is unwrapped to the article itself, its query string intact.
    assert leeds["url"] == "https://news.example.com/2024/05/07/acme-coffee-leeds?utm_source=x"
    assert leeds["text"] == (
        "Acme Coffee opens a second roastery in Leeds — The family business behind Acme Coffee "
        "said the new site will employ 20 people ..."
    )
    assert leeds["title"] == "Acme Coffee opens a second roastery in Leeds"
    assert leeds["created_at"] == "2024-05-07T09:12:00+00:00"
    # Google Alerts never names an author: the publishing site stands in.
    assert leeds["author"] == {
        "id": "news.example.com",
        "handle": "news.example.com",
        "name": "news.example.com",
    }
    assert leeds["feed_title"] == 'Google Alert - "Acme Coffee"'
    assert review["url"] == "https://blog.example.net/acme-review/"
    assert review["text"].endswith("for a week & here is what we found ...")


def test_unwrap_google_url() -> None:
    tracked = "https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1&ct=ga"
    assert unwrap_google_url(tracked) == "https://a.example/x?y=1"
    assert unwrap_google_url("https://www.google.co.uk/url?q=https://b.example/") == (
        "https://b.example/"
    )
    # Only Google's tracker, and only towards http(s).
    assert unwrap_google_url("https://evil.example/url?url=https://a.example/") == (
        "https://evil.example/url?url=https://a.example/"
    )
    js = "https://www.google.com/url?url=javascript:alert(1)"
    assert unwrap_google_url(js) == js
    assert unwrap_google_url("https://a.example/x") == "https://a.example/x"


def test_empty_feed(server: FeedServer) -> None:
    page = poll(server.serve("/empty.xml", fixture("empty.xml")))
    assert page.posts == []
    assert page.problems == []
    assert not page.not_modified


def test_posts_are_valid_post_format(server: FeedServer) -> None:
    # The contract with the pipeline: every post a feed yields passes parse_post.
    names = ["rss2.xml", "atom.xml", "rss1.rdf", "google-alerts.xml", "hostile.xml"]
    names += ["mislabelled-cp1252.xml", "latin1.xml", "nul-and-bad-dates.xml"]
    for name in names:
        for post in poll(server.serve(f"/{name}", fixture(name))).posts:
            parsed = parse_post(json.loads(json.dumps(post)))
            assert parsed.source == "rss"
            assert parsed.created_at.tzinfo is not None


# --- polite polling ----------------------------------------------------------------------------


def test_etag_round_trip(server: FeedServer) -> None:
    url = server.serve("/feed", Reply(fixture("rss2.xml"), etag='"v1"'))
    first = poll(url)
    assert first.cursor["etag"] == '"v1"'
    assert first.posts
    second = poll(url, first.cursor)
    assert second == Page(posts=[], cursor=first.cursor, not_modified=True)
    assert server.seen[1][1]["If-None-Match"] == '"v1"'
    # The feed changes: a new ETag, a full page again.
    server.serve("/feed", Reply(fixture("atom.xml"), etag='"v2"'))
    third = poll(url, first.cursor)
    assert third.cursor["etag"] == '"v2"'
    assert not third.not_modified
    assert len(third.posts) == 2


def test_last_modified_round_trip(server: FeedServer) -> None:
    stamp = "Wed, 01 May 2024 10:00:00 GMT"
    url = server.serve("/feed", Reply(fixture("rss2.xml"), last_modified=stamp))
    first = poll(url)
    assert first.cursor["last_modified"] == stamp
    second = poll(url, first.cursor)
    assert second.not_modified
    assert second.cursor == first.cursor
    assert server.seen[1][1]["If-Modified-Since"] == stamp
    assert "If-None-Match" not in server.seen[1][1]


def test_unchanged_feed_without_validators_is_not_parsed_again(server: FeedServer) -> None:
    url = server.serve("/feed", fixture("rss2.xml"))
    first = poll(url)
    second = poll(url, first.cursor)
    assert second.not_modified
    assert second.posts == []
    assert second.cursor == first.cursor


def test_cursor_of_unexpected_shape_is_tolerated(server: FeedServer) -> None:
    url = server.serve("/feed", fixture("rss2.xml"))
    page = poll(url, {"etag": 42, "last_modified": None, "later": "kept"})
    assert page.posts
    assert page.cursor["later"] == "kept"
    assert "If-None-Match" not in server.seen[0][1]


def test_request_headers(server: FeedServer) -> None:
    poll(server.serve("/feed", fixture("empty.xml")))
    headers = server.seen[0][1]
    assert headers["User-Agent"].startswith("Goodwill/")
    assert "application/rss+xml" in headers["Accept"]


# --- HTTP failures -----------------------------------------------------------------------------


def test_429_with_retry_after_seconds(server: FeedServer) -> None:
    url = server.serve("/feed", Reply(status=429, headers={"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        poll(url)
    assert caught.value.retry_after == 120
    assert str(caught.value) == f"HTTP 429 from {url}: asked to wait 120 s"


def test_503_with_retry_after_date(server: FeedServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    url = server.serve("/feed", Reply(status=503, headers={"Retry-After": when}))
    with pytest.raises(RateLimited) as caught:
        poll(url)
    assert 80 <= caught.value.retry_after <= 90


def test_429_without_retry_after_waits_one_interval(server: FeedServer) -> None:
    url = server.serve("/feed", Reply(status=429, headers={"Retry-After": "soon-ish"}))
    with pytest.raises(RateLimited) as caught:
        poll(url, config={"interval": 600})
    assert caught.value.retry_after == 600


@pytest.mark.parametrize("status", [500, 503, 404, 410, 403])
def test_other_errors(server: FeedServer, status: int) -> None:
    url = server.serve("/feed", Reply(b"oops", status=status))
    with pytest.raises(SourceError) as caught:
        poll(url)
    assert not isinstance(caught.value, RateLimited)
    assert str(caught.value) == f"HTTP {status} from {url}"


def test_slow_server_times_out(server: FeedServer) -> None:
    url = server.serve("/slow", Reply(fixture("rss2.xml"), delay=2))
    started = time.monotonic()
    with pytest.raises(SourceError, match=rf"^timed out fetching {re.escape(url)} \(ReadTimeout"):
        poll(url, timeout=0.2)
    assert time.monotonic() - started < 1.5


def test_dripping_server_hits_the_overall_deadline(server: FeedServer) -> None:
    # One byte every 30 ms never trips the 100 ms read timeout; the whole fetch is bounded.
    url = server.serve("/drip", Reply(fixture("rss2.xml"), drip=0.03))
    with pytest.raises(SourceError, match=r"gave up fetching .* after 0\.6 seconds"):
        poll(url, timeout=0.1)


def test_connection_refused(server: FeedServer) -> None:
    with socket.socket() as sock:  # bound but not listening: nothing accepts
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/feed"
        with pytest.raises(SourceError, match=rf"^could not connect to fetch {re.escape(url)}: "):
            poll(url)


def test_redirect_is_followed(server: FeedServer) -> None:
    server.serve("/feed.xml", fixture("rss1.rdf"))
    url = server.serve("/old", Reply(status=301, headers={"Location": "/feed.xml"}))
    (post,) = poll(url).posts
    assert post["id"] == "https://old.example.com/n/1"
    assert [path for path, _ in server.seen] == ["/old", "/feed.xml"]


def test_redirect_to_a_blocked_address_is_refused(server: FeedServer) -> None:
    url = server.serve(
        "/go", Reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    with pytest.raises(SourceError) as caught:
        poll(url)
    assert str(caught.value) == (
        f"refused to fetch {url}: refusing to connect to 169.254.169.254 (cloud metadata address)"
    )


def test_private_feed_url_is_refused() -> None:
    with pytest.raises(
        SourceError, match=r"refusing to connect to 10\.0\.0\.5 \(private address\)"
    ):
        poll("http://10.0.0.5/feed.xml")


def test_too_many_redirects(server: FeedServer) -> None:
    url = server.serve("/loop", Reply(status=302, headers={"Location": "/loop"}))
    with pytest.raises(SourceError, match=r"too many redirects fetching .* \(more than 5\)"):
        poll(url)


def test_password_is_not_shown_in_errors(server: FeedServer) -> None:
    url = server.serve("/feed", Reply(status=500))
    secret = url.replace("http://", "http://me:hunter2@")
    with pytest.raises(SourceError) as caught:
        poll(secret)
    assert "hunter2" not in str(caught.value)
    assert "me:***@" in str(caught.value)


# --- size limits -------------------------------------------------------------------------------


class _Small(RssSource):
    max_bytes: ClassVar[int] = 2_000


@pytest.mark.parametrize("send_length", [True, False])
def test_body_over_the_limit(server: FeedServer, send_length: bool) -> None:
    url = server.serve("/big", Reply(fixture("rss2.xml") * 3, send_length=send_length))
    with pytest.raises(SourceError, match=r"is larger than 0\.00190735 MB; not reading it"):
        poll(url, source=_Small)


def test_gzip_bomb_is_counted_unpacked(server: FeedServer) -> None:
    bomb = b"<rss>" + b" " * (MAX_FEED_BYTES + 1)  # about 10 KB on the wire
    url = server.serve("/bomb", Reply(bomb, gzip=True))
    with pytest.raises(SourceError, match=r"is larger than 10 MB"):
        poll(url)


def test_one_megabyte_entry_is_kept(server: FeedServer) -> None:
    huge = "<p>Acme <b>coffee</b> &amp; more.</p>" * 30_000  # about 1 MB of HTML
    item = f"<item><guid>big</guid><title>Big</title><description><![CDATA[{huge}]]></description>"
    url = server.serve("/huge", rss(item + "</item>"))
    (post,) = poll(url).posts
    assert len(post["text"]) > 500_000
    assert post["text"].startswith("Big — Acme coffee & more. Acme coffee")
    assert "<" not in post["text"]


# --- malformed and hostile feeds ---------------------------------------------------------------


def test_broken_xml_with_recoverable_entries(server: FeedServer) -> None:
    page = poll(server.serve("/broken", fixture("broken-recoverable.xml")))
    assert [p["id"] for p in page.posts] == ["https://broken.example/1", "https://broken.example/2"]
    assert page.posts[0]["text"] == "First post & more — It works"
    assert len(page.problems) == 1
    assert page.problems[0].startswith("the feed is not well-formed XML (")
    assert page.problems[0].endswith("); 2 entries were recovered")


def test_not_xml_at_all(server: FeedServer) -> None:
    url = server.serve("/junk", fixture("not-xml.xml"))
    with pytest.raises(SourceError, match=r"^not a valid RSS or Atom feed: .*not well-formed"):
        poll(url)


def test_html_page_instead_of_feed(server: FeedServer) -> None:
    url = server.serve("/", Reply(fixture("html-page.html"), content_type="text/html"))
    with pytest.raises(SourceError) as caught:
        poll(url)
    assert str(caught.value) == (
        "not a valid RSS or Atom feed: no RSS or Atom root element (the server sent an HTML "
        "page: use the address of its feed instead)"
    )


def test_windows_1252_declared_as_utf8(server: FeedServer) -> None:
    url = server.serve("/cp1252", Reply(fixture("mislabelled-cp1252.xml"), content_type=XML))
    (post,) = poll(url).posts
    assert post["text"] == (
        "“Best café in town” – €5 flat whites — Crème brûlée latte… on the menu."
    )
    assert post["feed_title"] == "Café Acme – news"


@pytest.mark.parametrize("content_type", ["application/rss+xml", XML, "text/xml", None])
def test_iso_8859_1(server: FeedServer, content_type: str | None) -> None:
    # Declared in the XML; also served with a wrong charset in the HTTP header.
    url = server.serve("/latin1", Reply(fixture("latin1.xml"), content_type=content_type))
    (post,) = poll(url).posts
    assert post["text"] == "Æbler og kaffe på Ærø — Smag ½kilo bønner § 3."
    assert post["lang"] == "da"


def test_hostile_html(server: FeedServer) -> None:
    page = poll(server.serve("/hostile", fixture("hostile.xml")))
    evil, encoded, plain = page.posts
    assert evil["text"] == "Click me — Visible text"  # iframe content is never shown either
    assert evil["title"] == "Click me"
    assert evil["url"] is None  # javascript: links never become links
    assert evil["feed_title"] == "Hostile Feed"
    for post in page.posts:
        for value in (post["text"], post["title"], post["feed_title"]):
            assert "alert(" not in value or post is encoded
        assert not TAG_RE.search(post["title"])
    # Entity-encoded markup was text for the feed's readers, and stays text for ours.
    assert encoded["text"] == (
        "Entity-encoded markup is shown, not run — <script>alert(11)</script> is how you write "
        "a script tag"
    )
    assert plain["text"] == "A plain item after the hostile ones — before & after"
    assert page.problems == [
        "entry 1 (evil-1): link 'javascript:alert(document.cookie)' is not an http(s) address; "
        "dropped"
    ]


def test_nul_bytes_and_bad_dates(server: FeedServer) -> None:
    page = poll(server.serve("/nul", fixture("nul-and-bad-dates.xml")))
    assert "\x00" not in json.dumps(page.posts, ensure_ascii=False)
    posts = by_id(page)
    assert posts["https://nul.example/1"]["text"] == "Title with NUL — Body text"
    assert posts["https://nul.example/1"]["feed_title"] == "Nul Feed"
    now = datetime.now(UTC)
    for n in (1, 2, 3, 4):
        post = posts[f"https://nul.example/{n}"]
        assert post["created_at_is_fetch_time"] is True
        assert now - timedelta(minutes=1) < datetime.fromisoformat(post["created_at"]) <= now
    problems = [p for p in page.problems if p.startswith("entry")]
    assert problems == [
        "entry 1 (https://nul.example/1): date 'not a date at all' could not be read; "
        "using the time it was fetched",
        "entry 2 (https://nul.example/2): date 'Fri, 01 Jan 2999 00:00:00 +0000' is not "
        "believable; using the time it was fetched",
        "entry 4 (https://nul.example/4): date 'Mon, 01 Jan 1900 00:00:00 +0000' is not "
        "believable; using the time it was fetched",
    ]


def test_external_entities_and_entity_expansion(server: FeedServer) -> None:
    started = time.monotonic()
    page = poll(server.serve("/xxe", fixture("xxe.xml")))
    assert time.monotonic() - started < 2
    text = json.dumps(page.posts)
    assert "root:" not in text
    assert "lollollol" not in text


def test_body_that_looks_like_a_path_is_not_opened(server: FeedServer, tmp_path: Path) -> None:
    # Given bytes or str, feedparser would open a local file of that name. It must not.
    local = tmp_path / "local.xml"
    local.write_bytes(fixture("rss1.rdf"))
    url = server.serve("/path", Reply(str(local).encode(), content_type="text/plain"))
    with pytest.raises(SourceError, match="not a valid RSS or Atom feed"):
        poll(url)


def test_ids_are_unique_and_bounded(server: FeedServer) -> None:
    long_guid = "x" * 600
    url = server.serve(
        "/ids",
        rss(
            "<item><guid>tag:a.example,2024:1</guid><title>tag id</title></item>",
            "<item><guid>1</guid><title>first</title></item>",
            "<item><guid>1</guid><title>same guid again</title></item>",
            f"<item><guid>{long_guid}</guid><title>long</title></item>",
            "<item><guid>ftp://files.example/x</guid><title>not http</title></item>",
        ),
    )
    page = poll(url)
    ids = [p["id"] for p in page.posts]
    assert ids[:2] == ["tag:a.example,2024:1", f"{url}#1"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ids[2])
    assert ids[3] == f"{url}#ftp://files.example/x"
    assert page.problems == [f"entry 3 ({url}#1): same id as an earlier entry, skipped"]


def test_problems_name_the_entry(server: FeedServer) -> None:
    url = server.serve(
        "/named",
        rss(
            "<item><title>ok</title><link>https://a.example/1</link></item>",
            "<item><link>https://a.example/2</link><description> </description></item>",
        ),
    )
    page = poll(url)
    assert page.problems == ["entry 2 (https://a.example/2): no title and no text; skipped"]


# --- configuration -----------------------------------------------------------------------------


def test_config_defaults_and_normalises() -> None:
    assert RssSource.validate_config({"url": " https://Example.com/feed "}) == {
        "url": "https://example.com/feed",
        "interval": 900.0,
    }
    assert RssSource.validate_config({"url": "https://a.example/", "interval": "120"}) == {
        "url": "https://a.example/",
        "interval": 120.0,
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "url: required, the address of an RSS or Atom feed"),
        ({"url": ""}, "url: required"),
        ({"url": 42}, "url: required"),
        ({"url": "example.com/rss"}, "url: the URL 'example.com/rss' has no scheme"),
        ({"url": "file:///etc/passwd"}, "url: unsupported scheme 'file'"),
        ({"url": "https://a.example/", "interval": 30}, "interval: at least 60 seconds"),
        ({"url": "https://a.example/", "interval": "often"}, "interval: expected seconds"),
        ({"url": "https://a.example/", "interval": True}, "interval: expected seconds"),
        ({"url": "https://a.example/", "interval": float("nan")}, "interval: at least 60"),
        ({"url": "https://a.example/", "intervall": 60}, "unknown setting 'intervall'"),
    ],
)
def test_config_errors(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        RssSource.validate_config(config)


# --- the registry ------------------------------------------------------------------------------


def test_registry_has_rss() -> None:
    assert available_sources()["rss"] is RssSource
    assert get_source_class("rss") is RssSource
    assert issubclass(get_source_class("rss"), PollingSource)


def test_unknown_kind_lists_known_kinds() -> None:
    with pytest.raises(ConfigError, match=r"^unknown source kind 'twitter'; known kinds: ") as e:
        get_source_class("twitter")
    listed = str(e.value).split("known kinds: ")[1].split(", ")
    assert "rss" in listed and listed == sorted(listed)


class _PluginSource(PollingSource):
    kind: ClassVar[str] = "plugin"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return dict(config)

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        return Page(posts=[], cursor={})


def _entry_point(name: str, obj: Any) -> SimpleNamespace:
    def load() -> Any:
        if isinstance(obj, Exception):
            raise obj
        return obj

    return SimpleNamespace(name=name, value=f"tests:{name}", load=load)


def test_registry_loads_plugins_and_skips_broken_ones(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Other(RssSource):
        pass

    eps = [
        _entry_point("plugin", _PluginSource),
        _entry_point("broken", ImportError("No module named 'goodwill_broken'")),
        _entry_point("notasource", len),
        _entry_point("misnamed", _PluginSource),
        _entry_point("rss", Other),  # may not replace the built-in
        _entry_point("rss", RssSource),  # the built-in, registered again: fine
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps)
    registry._load_sources.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="goodwill.sources"):
            sources = available_sources()
    finally:
        registry._load_sources.cache_clear()
    assert sources == {"rss": RssSource, "plugin": _PluginSource}
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "'broken' (tests:broken) could not be loaded" in messages
    assert "'notasource' (tests:notasource) is not a PollingSource" in messages
    assert "'misnamed' (tests:misnamed) declares kind 'plugin'" in messages
    assert "kind 'rss' is already provided by goodwill.sources.rss.RssSource" in messages
