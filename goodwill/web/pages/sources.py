"""Sources: add, edit, test, and each one's health and last error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import ConfigError, SourceError, available_sources, get_source_class
from goodwill.sources.credentials import scrub
from goodwill.store.accounts import Role
from goodwill.store.repository import Repository, StoreError
from goodwill.store.tables import Source
from goodwill.web.deps import Access, ctx, page_access, render

__all__ = ["SourceTest", "clean_source", "find_source", "router", "test_source"]

router = APIRouter(include_in_schema=False)


@dataclass
class SourceTest:
    ok: bool
    message: str
    posts: int = 0
    problems: list[str] | None = None
    sample: list[str] | None = None


def find_source(repo: Repository, workspace_id: int, source_id: int) -> Source:
    src = next((s for s in repo.sources(workspace_id) if s.id == source_id), None)
    if src is None:
        raise HTTPException(404, "no such source in this workspace")
    return src


def clean_source(
    settings: Settings, kind: str, url: str, config_json: str, interval: float | None
) -> tuple[dict[str, Any], float]:
    """The validated config and interval, or ``ConfigError`` saying what is wrong."""
    cls = get_source_class(kind)
    config: dict[str, Any] = {}
    if config_json.strip():
        try:
            loaded = json.loads(config_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"the settings are not valid JSON: {exc.msg} at column {exc.colno}"
            ) from None
        if not isinstance(loaded, dict):
            raise ConfigError("the settings must be a JSON object")
        config.update(loaded)
    if url.strip():
        config["url"] = url.strip()
    if interval is not None:
        config["interval"] = interval
    clean = cls.validate_config(config)
    chosen = float(clean.get("interval", cls.default_interval))
    if chosen < settings.listen_min_interval:
        raise ConfigError(f"the interval must be at least {settings.listen_min_interval:g} seconds")
    return clean, chosen


async def test_source(
    settings: Settings, kind: str, name: str, config: dict[str, Any]
) -> SourceTest:
    """Fetch once, store nothing: does this source work, and what would it bring?"""
    try:
        cls = get_source_class(kind)
    except ConfigError as exc:
        return SourceTest(False, str(exc))
    secrets = [str(v) for k, v in config.items() if k in cls.secret_fields and v]
    try:
        async with make_client(settings) as http:
            page = await cls(name, config, http).poll({})
    except (SourceError, ConfigError) as exc:
        return SourceTest(False, scrub(str(exc), secrets))
    except Exception as exc:  # a connector bug is reported, not raised at the user
        return SourceTest(False, scrub(f"unexpected error: {type(exc).__name__}: {exc}", secrets))
    sample = [str(p.get("text") or p.get("title") or "")[:200] for p in page.posts[:5]]
    return SourceTest(
        True,
        f"Reached it: {len(page.posts)} items on the first page.",
        len(page.posts),
        [scrub(p, secrets) for p in page.problems[:10]],
        sample,
    )


@router.get("/w/{workspace_id}/sources")
def sources_page(request: Request, access: Annotated[Access, Depends(page_access())]) -> Response:
    c = ctx(request)
    context = {
        "sources": c.repo.sources(access.workspace.id),
        "kinds": sorted(available_sources()),
        "v": {"kind": "rss", "name": "", "url": "", "config": "", "interval": ""},
        "error": None,
    }
    return render(request, "sources.html", context, access=access)


@router.post("/w/{workspace_id}/sources")
def add_source(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    kind: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=200)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    config: Annotated[str, Form(max_length=20_000)] = "",
    interval: Annotated[float | None, Form()] = None,
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    c = ctx(request)
    try:
        clean, chosen = clean_source(c.settings, kind, url, config, interval)
        label = name.strip() or url.strip() or kind
        c.repo.add_source(access.workspace.id, kind, label[:200], clean, chosen)
    except (ConfigError, StoreError) as exc:
        context = {
            "sources": c.repo.sources(access.workspace.id),
            "kinds": sorted(available_sources()),
            "v": {
                "kind": kind,
                "name": name,
                "url": url,
                "config": config,
                "interval": interval or "",
            },
            "error": str(exc),
        }
        return render(request, "sources.html", context, access=access, status_code=422)
    target = back if back in ("setup",) else ""
    if target == "setup":
        return RedirectResponse(f"/w/{access.workspace.id}/setup/sources", status_code=303)
    return RedirectResponse(f"/w/{access.workspace.id}/sources", status_code=303)


@router.get("/w/{workspace_id}/sources/{source_id}")
def source_page(
    request: Request, source_id: int, access: Annotated[Access, Depends(page_access())]
) -> Response:
    src = find_source(ctx(request).repo, access.workspace.id, source_id)
    context = {"src": src, "config": json.dumps(src.config, indent=2), "error": None, "test": None}
    return render(request, "source.html", context, access=access)


@router.post("/w/{workspace_id}/sources/{source_id}")
def edit_source(
    request: Request,
    source_id: int,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    config: Annotated[str, Form(max_length=20_000)],
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    c = ctx(request)
    src = find_source(c.repo, access.workspace.id, source_id)
    try:
        clean, chosen = clean_source(c.settings, src.kind, "", config, None)
    except ConfigError as exc:
        context = {"src": src, "config": config, "error": str(exc), "test": None}
        return render(request, "source.html", context, access=access, status_code=422)
    c.repo.update_source(
        access.workspace.id, src.id, config=clean, interval_s=chosen, enabled=enabled
    )
    return RedirectResponse(f"/w/{access.workspace.id}/sources/{src.id}", status_code=303)


@router.post("/w/{workspace_id}/sources/{source_id}/test")
async def test_source_page(
    request: Request, source_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    c = ctx(request)
    src = find_source(c.repo, access.workspace.id, source_id)
    result = await test_source(c.settings, src.kind, src.name, src.config)
    context = {
        "src": src,
        "config": json.dumps(src.config, indent=2),
        "error": None,
        "test": result,
    }
    return render(request, "source.html", context, access=access)


@router.post("/w/{workspace_id}/sources/{source_id}/delete")
def delete_source(
    request: Request, source_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    c = ctx(request)
    src = find_source(c.repo, access.workspace.id, source_id)
    c.repo.remove_source(access.workspace.id, src.id)
    return RedirectResponse(f"/w/{access.workspace.id}/sources", status_code=303)
