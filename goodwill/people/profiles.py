"""What a post says about its author beyond the post format's id, handle and name.

Merge suggestions need a profile address and the links in a bio. The post format has no such
fields, so they come from what is kept: the optional top-level ``author_url`` and ``author_bio``
of an imported post, and the raw payloads connectors keep (Mastodon's ``account.url`` and
``account.note``; X's ``x_author`` with ``url`` and ``description``). Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Profile", "link_key", "name_key", "profile_of"]

_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
MAX_LINKS = 10


@dataclass(slots=True)
class Profile:
    url: str | None = None
    links: list[str] = field(default_factory=list)


def name_key(name: str | None) -> str | None:
    """A display name folded for comparison: case, accents' forms, punctuation and emoji
    dropped. Names shorter than four letters say too little to suggest a merge."""
    if not name:
        return None
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = _SPACES.sub(" ", _NOT_WORD.sub(" ", folded)).strip()
    return folded[:512] if len(folded.replace(" ", "")) >= 4 else None


def link_key(url: str) -> str | None:
    """A link folded for comparison: scheme, ``www.``, case of the host, trailing ``/`` dropped."""
    url = url.rstrip(".,;:!?)]}")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or "." not in host:
        return None
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"[:2048]


def _links(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    out: list[str] = []
    for m in _URL.finditer(text):
        key = link_key(m.group(0))
        if key and key not in out:
            out.append(key)
    return out[:MAX_LINKS]


def profile_of(source: str, handle: str | None, extra: Mapping[str, Any]) -> Profile:
    """The author's profile address and bio links, from what the post kept."""
    profile = Profile()
    url: Any = extra.get("author_url")
    bio: Any = extra.get("author_bio")
    links = _links(bio)
    mastodon = extra.get("mastodon")
    if isinstance(mastodon, Mapping) and isinstance(mastodon.get("account"), Mapping):
        account = mastodon["account"]
        url = url or account.get("url")
        links += _links(account.get("note"))
        for f in account.get("fields") or []:
            if isinstance(f, Mapping):
                links += _links(f.get("value"))
    x_author = extra.get("x_author")
    if isinstance(x_author, Mapping):
        username = x_author.get("username")
        if not url and isinstance(username, str) and username:
            url = f"https://x.com/{username}"
        links += _links(x_author.get("url")) + _links(x_author.get("description"))
    if not url and source == "reddit" and handle:
        url = f"https://www.reddit.com/user/{handle.lstrip('@').removeprefix('u/')}"
    if isinstance(url, str):
        profile.url = link_key(url)
    seen: list[str] = []
    for link in links:
        if link not in seen and link != profile.url:
            seen.append(link)
    profile.links = seen[:MAX_LINKS]
    return profile
