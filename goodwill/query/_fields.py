"""What ``author:``, ``site:``, ``url:``, ``lang:`` and ``source:`` compare, on both sides.

Why one module: a field only works if the query's value and the post's metadata are normalised
by the same function. The post side turns metadata into pseudo-tokens (``\\x01lang=en``) that
``Document.build`` adds to the token stream, so the prefilter can anchor a field like a word.

Semantics (docs/query-language.md):

- ``author:`` the handle, with or without ``@`` (for ``user@instance`` handles also the part
  before the second ``@``), or the whole display name (``author:"Jane Doe"``), case- and
  accent-insensitive.
- ``site:`` the host of the post's URL or any parent domain, ``www.`` ignored:
  ``site:example.com`` matches ``blog.example.com`` but not ``notexample.com``.
- ``url:`` a piece of the post's URL, without scheme and ``www.``; it need not be a whole word.
- ``lang:`` the language code, exactly or as the primary subtag (``lang:pt`` matches ``pt-BR``).
- ``source:`` the source kind exactly (``rss``, ``mastodon``, ``bluesky``, ``reddit``, …).
"""

from __future__ import annotations

import functools
import re

from goodwill.text import fold, tokens

__all__ = [
    "PSEUDO",
    "FieldValueError",
    "author_keys",
    "lang_keys",
    "normalise_value",
    "pseudo_tokens",
    "query_author_keys",
    "site_keys",
    "source_keys",
    "url_key",
    "wildcard_problem",
]

PSEUDO = "\x01"
"""Starts every pseudo-token; ``goodwill.text.tokens`` never produces it."""

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://")
_SPACES = re.compile(r"\s+")
_LANG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_SOURCE = re.compile(r"[a-z0-9*?][a-z0-9_.\-*?]*")
_HOST = re.compile(r"[\w\-.*?]+")


class FieldValueError(ValueError):
    """A field value that cannot work; the parser adds the column.

    ``quoted`` is the spelling to quote at the start of the message, when there is one
    (``'author:a*' at column 3 has a wildcard too early; …``).
    """

    def __init__(self, message: str, quoted: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.quoted = quoted


def wildcard_problem(pattern: str) -> str | None:
    """Wildcards need at least two literal characters before the first ``*`` or ``?``."""
    cuts = [i for i in (pattern.find("*"), pattern.find("?")) if i >= 0]
    if not cuts:
        return None
    literal = pattern[: min(cuts)].lstrip("#@")
    if len(literal) >= 2:
        return None
    start = "starts with a wildcard" if not literal else "has a wildcard too early"
    return f"{start}; a wildcard needs at least 2 letters or digits before it, as in deliver*"


def _clean(value: str) -> str:
    return _SPACES.sub(" ", fold(value).strip())


def _host_of(value: str) -> str:
    """``https://user@www.Example.com:8080/path`` → ``example.com``."""
    host = _SCHEME.sub("", value).lstrip("/")
    for stop in "/?#":
        host = host.split(stop, 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


def normalise_value(name: str, raw: str) -> str:
    """The query side: the value as the field compares it; raises :class:`FieldValueError`."""
    value = _clean(raw)
    if name == "author":
        value = value.lstrip("@")
        if not value:
            raise FieldValueError("author: needs a handle or a name, as in author:acme")
    elif name == "site":
        value = _host_of(value)
        if not value or ".." in value or not _HOST.fullmatch(value):
            raise FieldValueError(f"site: needs a domain such as example.com, not '{raw}'")
    elif name == "url":
        value = _SCHEME.sub("", value)
        value = value[4:] if value.startswith("www.") else value
        if not value or " " in value:
            raise FieldValueError(
                f"url: needs a piece of a link such as example.com/blog, not '{raw}'"
            )
    elif name == "lang":
        value = value.replace("_", "-")
        if not (_LANG.fullmatch(value) or ("*" in value or "?" in value)):
            raise FieldValueError(f"lang: needs a language code such as en or pt-br, not '{raw}'")
    elif not _SOURCE.fullmatch(value):
        raise FieldValueError(
            f"source: needs a source kind such as rss, mastodon or reddit, not '{raw}'"
        )
    problem = wildcard_problem(value)
    if problem:
        raise FieldValueError(problem, quoted=f"{name}:{raw}")
    return value


def query_author_keys(value: str) -> list[str]:
    """The author keys a non-wildcard ``author:`` value may equal (handle form, name form)."""
    keys = [value.replace(" ", "_")]
    name = "_".join(tokens(value))
    if name and name not in keys:
        keys.append(name)
    return keys


def author_keys(handle: str | None, name: str | None) -> list[str]:
    """The post side of ``author:``: the folded handle (and its local part) and the name."""
    keys: list[str] = []
    if handle:
        h = _clean(handle).lstrip("@").replace(" ", "_")
        if h:
            keys.append(h)
            local = h.split("@", 1)[0]
            if local and local != h:
                keys.append(local)
    if name:
        n = "_".join(tokens(name))
        if n and n not in keys:
            keys.append(n)
    return keys


def site_keys(url: str | None) -> list[str]:
    """The host of ``url`` and its parent domains: ``a.b.com`` → ``a.b.com``, ``b.com``, ``com``."""
    if not url:
        return []
    host = _host_of(fold(url.strip()))
    if not host or " " in host:
        return []
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i]]


def url_key(url: str | None) -> str:
    """The post side of ``url:``: the folded URL without scheme and ``www.``."""
    if not url:
        return ""
    value = _SCHEME.sub("", fold(url.strip()))
    return value[4:] if value.startswith("www.") else value


def lang_keys(lang: str | None) -> list[str]:
    """``pt-BR`` → ``pt-br`` and ``pt``."""
    if not lang:
        return []
    code = fold(lang.strip()).replace("_", "-").replace(" ", "")
    primary = code.split("-", 1)[0]
    return [code] if primary == code or not primary else [code, primary]


def source_keys(source: str | None) -> list[str]:
    if not source:
        return []
    kind = fold(source.strip()).replace(" ", "_")
    return [kind] if kind else []


# The post side runs once per post, and metadata repeats (a few languages and sources, the same
# authors and sites again and again), so the pseudo-tokens are cached per combination.


@functools.lru_cache(maxsize=65_536)
def _pseudo(
    handle: str | None, name: str | None, site: str, lang: str | None, source: str | None
) -> tuple[tuple[str, ...], str]:
    found = [f"{PSEUDO}author={k}" for k in author_keys(handle, name)]
    found += [f"{PSEUDO}site={k}" for k in site_keys(site)]
    found += [f"{PSEUDO}lang={k}" for k in lang_keys(lang)]
    found += [f"{PSEUDO}source={k}" for k in source_keys(source)]
    return tuple(found), " ".join(found) + " " if found else ""


def _site_part(url: str) -> str:
    """The part of ``url`` before its path (scheme, user, host), cheaply, as the cache key."""
    if "//" not in url:
        return url.split("/", 1)[0]
    return url.split("/", 3)[2] if "://" in url[:12] else url


def pseudo_tokens(
    handle: str | None, name: str | None, url: str | None, lang: str | None, source: str | None
) -> tuple[tuple[str, ...], str]:
    """A post's field pseudo-tokens (author, site, lang, source), and them joined for the stream.

    The joined form has a space after each token; it is empty when there are none.
    """
    return _pseudo(handle, name, _site_part(url) if url else "", lang, source)
