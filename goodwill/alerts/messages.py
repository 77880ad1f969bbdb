"""What an alert says: event drafts from posts and spikes, and their renderings per channel.

Every piece of third-party text (posts, author names) is escaped for the place it lands:
HTML in emails, Slack/Mattermost markup (``&<>`` and mentions) in chat payloads. Standard
webhooks carry JSON, where orjson escapes what JSON needs.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from goodwill.store.alerts import EventDraft
from goodwill.store.tables import AlertEvent, AlertRule, Post

__all__ = [
    "digest_draft",
    "post_draft",
    "post_summary",
    "render_html",
    "render_text",
    "slack_body",
    "standard_body",
]

TOP_MENTIONS = 5
SNIPPET = 280


def _label(post: Post, field: str) -> str | None:
    value = (post.analysis or {}).get(field)
    return value.get("label") if isinstance(value, dict) else None


def post_summary(post: Post, topic: str | None) -> dict[str, Any]:
    return {
        "id": post.id,
        "source": post.source,
        "url": post.url,
        "text": post.text[: SNIPPET * 4],
        "created_at": post.created_at.isoformat(),
        "author": {
            "handle": post.author_handle,
            "name": post.author_name,
            "followers": post.author_followers,
        },
        "sentiment": _label(post, "sentiment"),
        "intent": _label(post, "intent"),
        "likes": post.likes,
        "shares": post.shares,
        "topic": topic,
    }


def _who(post: Post) -> str:
    return post.author_handle or post.author_name or "someone"


def post_draft(
    kind: str, rule: AlertRule, post: Post, topic: str | None, **extra: Any
) -> EventDraft:
    """A post rule's event: one per post (key ``post:ID``; SLA alerts ``sla:ID``)."""
    where = f" about {topic}" if topic else ""
    if kind == "unanswered":
        title = f"Unanswered question from {_who(post)}{where}"
        key = f"sla:{post.id}"
    elif rule.kind == "author" and "person" in extra:
        signal = str((rule.filters or {}).get("signal", "")).capitalize()
        title = f"{signal} {_who(post)} spoke{where}"
        key = f"post:{post.id}"
    elif rule.kind == "author":
        followers = post.author_followers or 0
        title = f"{_who(post)} ({followers:,} followers) spoke{where}"
        key = f"post:{post.id}"
    else:
        title = f"New mention{where} by {_who(post)}"
        key = f"post:{post.id}"
    payload = {
        "rule": rule.name,
        "rule_kind": rule.kind,
        "post": post_summary(post, topic),
        **extra,
    }
    return EventDraft(key=key, kind=kind, title=title, payload=payload, post_id=post.id)


def _rank(item: dict[str, Any]) -> tuple[int, int]:
    post = item.get("post") or {}
    followers = (post.get("author") or {}).get("followers") or 0
    engagement = (post.get("likes") or 0) + (post.get("shares") or 0)
    return followers, engagement


def digest_draft(rule: AlertRule, held: Sequence[AlertEvent], now: datetime) -> EventDraft:
    """One digest of a rule's held events: counts by kind, sentiment and source, top mentions."""
    payloads = [e.payload for e in held]
    posts = [p["post"] for p in payloads if p.get("post")]
    top = sorted(held, key=lambda e: _rank(e.payload), reverse=True)[:TOP_MENTIONS]
    period = "hourly" if rule.frequency == "now" else rule.frequency
    return EventDraft(
        key=f"digest:{now.isoformat()}",
        kind="digest",
        title=f"{rule.name}: {len(held)} alert{'s' if len(held) != 1 else ''} ({period} digest)",
        payload={
            "rule": rule.name,
            "rule_kind": rule.kind,
            "period": period,
            "since": min(e.created_at for e in held).isoformat(),
            "until": now.isoformat(),
            "count": len(held),
            "by_kind": dict(Counter(e.kind for e in held)),
            "by_sentiment": dict(Counter(p.get("sentiment") or "unknown" for p in posts)),
            "by_source": dict(Counter(p.get("source") or "unknown" for p in posts)),
            "top": [{"title": e.title, **e.payload} for e in top],
            "titles": [e.title for e in held[:TOP_MENTIONS]],
        },
    )


# -- renderings ---------------------------------------------------------------------------------
def _post_lines(post: dict[str, Any]) -> list[str]:
    author = post.get("author") or {}
    who = author.get("handle") or author.get("name") or "someone"
    followers = author.get("followers")
    meta = [post.get("source") or "", post.get("sentiment") or "", post.get("intent") or ""]
    lines = [
        f"{who}"
        + (f" ({followers:,} followers)" if followers else "")
        + ": "
        + " · ".join(m for m in meta if m),
        (post.get("text") or "")[:SNIPPET],
    ]
    if post.get("url"):
        lines.append(str(post["url"]))
    return lines


def render_text(event: AlertEvent) -> str:
    p = event.payload
    lines = [event.title, ""]
    if event.kind == "digest":
        lines.append(f"{p['count']} alerts from {p['since']} to {p['until']}.")
        for name in ("by_kind", "by_sentiment", "by_source"):
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(p.get(name, {}).items()))
            if counts:
                lines.append(f"{name.removeprefix('by_').capitalize()}: {counts}")
        lines.append("")
        lines.append("Top mentions:")
        for item in p.get("top", []):
            if item.get("post"):
                lines.extend(["", *_post_lines(item["post"])])
    elif event.kind in ("volume_spike", "negative_spike"):
        lines.append(p.get("summary", ""))
    elif event.kind == "test":
        lines.append(p.get("message", ""))
    if p.get("post") and event.kind != "digest":
        lines.extend(_post_lines(p["post"]))
    lines.extend(["", f"Rule: {p.get('rule', '')}"])
    return "\n".join(lines) + "\n"


def render_html(event: AlertEvent) -> str:
    """The text version as simple HTML; every line is escaped, links only on http(s) URLs."""
    out = [f"<h2>{html.escape(event.title)}</h2>"]
    for line in render_text(event).splitlines()[2:]:
        if line.startswith(("http://", "https://")) and " " not in line:
            url = html.escape(line, quote=True)
            out.append(f'<p><a href="{url}">{url}</a></p>')
        elif line:
            out.append(f"<p>{html.escape(line)}</p>")
    return "<!doctype html><html><body>" + "\n".join(out) + "</body></html>\n"


def standard_body(event: AlertEvent, message_id: str) -> bytes:
    """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data``."""
    return orjson.dumps(
        {
            "type": f"alert.{event.kind}",
            "timestamp": event.created_at.isoformat(),
            "data": {
                "id": message_id,
                "event_id": event.id,
                "workspace_id": event.workspace_id,
                "title": event.title,
                **event.payload,
            },
        }
    )


_MENTION_AT = re.compile(r"(?<![\w/:.%+-])@")
"""An @ that starts a word (``@here``, ``@channel``, ``@user``), not one inside a URL
(``https://mastodon.example/@ana/1``) or an address, which a zero-width space would break."""


def _unping(text: str) -> str:
    # A zero-width space after a word's @ keeps third-party text from pinging @channel,
    # @here or a user in Mattermost and Discord; one in "](" keeps a Markdown link
    # ``[Official support](https://evil.example)`` from showing as a disguised link.
    return _MENTION_AT.sub("@\u200b", text).replace("](", "]\u200b(")


def _chat_escape(text: str) -> str:
    # Slack and Mattermost read <...> as links or @-commands and &amp; as entities.
    return _unping(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _discord_escape(text: str) -> str:
    # Discord shows HTML entities literally, so only mentions are broken up
    # (``allowed_mentions`` below is what really stops pings of users, roles and @everyone).
    return _unping(text)


DISCORD_LIMIT = 2000
"""Discord refuses a ``content`` longer than this (HTTP 400), so it is cut to fit."""


def slack_body(event: AlertEvent) -> bytes:
    """A chat payload read by Slack and Mattermost (``text``, their markup escaped) and Discord
    (``content``, plain Markdown within its 2,000 characters); each ignores the other's keys."""
    lines = render_text(event).splitlines()
    text = "*" + _chat_escape(lines[0]) + "*\n" + "\n".join(_chat_escape(x) for x in lines[1:])
    content = (
        "**" + _discord_escape(lines[0]) + "**\n" + "\n".join(_discord_escape(x) for x in lines[1:])
    )
    if len(content) > DISCORD_LIMIT:
        content = content[: DISCORD_LIMIT - 1] + "…"
    return orjson.dumps(
        {
            "text": text,
            "content": content,
            "allowed_mentions": {"parse": []},
        }
    )
