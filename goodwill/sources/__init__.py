"""Source connectors, found through the ``goodwill.sources`` entry point group.

The built-in RSS connector is registered the way a third-party one would be (see
``pyproject.toml``), and is also always present, so an uninstalled checkout works too.
"""

from __future__ import annotations

import inspect
import logging
from functools import lru_cache
from importlib.metadata import entry_points

from goodwill.sources.base import ConfigError, Page, PollingSource, RateLimited, SourceError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConfigError",
    "Page",
    "PollingSource",
    "RateLimited",
    "SourceError",
    "available_sources",
    "get_source_class",
]

ENTRY_POINT_GROUP = "goodwill.sources"

logger = logging.getLogger(__name__)


def available_sources() -> dict[str, type[PollingSource]]:
    """Every usable connector class by its ``kind``; broken plugins are logged and left out."""
    return dict(_load_sources())


@lru_cache(maxsize=1)
def _load_sources() -> dict[str, type[PollingSource]]:
    from goodwill.sources.rss import RssSource  # imported late: it pulls in feedparser

    sources: dict[str, type[PollingSource]] = {RssSource.kind: RssSource}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception:
            logger.exception("source plugin %r (%s) could not be loaded", ep.name, ep.value)
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, PollingSource)):
            logger.error("source plugin %r (%s) is not a PollingSource", ep.name, ep.value)
            continue
        if inspect.isabstract(loaded):
            logger.error("source plugin %r (%s) leaves methods abstract", ep.name, ep.value)
            continue
        kind = getattr(loaded, "kind", None)
        if kind != ep.name:
            logger.error(
                "source plugin %r (%s) declares kind %r; the entry point name must match",
                ep.name,
                ep.value,
                kind,
            )
            continue
        known = sources.get(kind)
        if known is not None and known is not loaded:
            logger.error(
                "source plugin %r (%s) ignored: kind %r is already provided by %s.%s",
                ep.name,
                ep.value,
                kind,
                known.__module__,
                known.__qualname__,
            )
            continue
        sources[kind] = loaded
    return sources


def get_source_class(kind: str) -> type[PollingSource]:
    """The connector for ``kind``, or ``ConfigError`` listing the kinds there are."""
    sources = _load_sources()
    try:
        return sources[kind]
    except KeyError:
        known = ", ".join(sorted(sources))
        raise ConfigError(f"unknown source kind {kind!r}; known kinds: {known}") from None
