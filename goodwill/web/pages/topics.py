"""Topics: the list, and the editor with its linter and live preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.domain import TopicKind
from goodwill.query import Document, QuerySyntaxError, parse
from goodwill.store.accounts import Role
from goodwill.store.repository import Repository, StoreError
from goodwill.store.tables import Post, Topic
from goodwill.web.deps import Access, ctx, page_access, render

__all__ = ["Preview", "find_topic", "preview_query", "router"]

router = APIRouter(include_in_schema=False)
PREVIEW_SCAN = 2000
PREVIEW_SHOW = 20


@dataclass
class Preview:
    """A query checked and tried on the newest posts of the workspace."""

    query: str
    error: str | None = None
    column: int | None = None
    explain: str | None = None
    scanned: int = 0
    matched: int = 0
    posts: list[Post] = field(default_factory=list)

    def marked(self) -> tuple[str, str, str]:
        """The query cut around the error column: before, the character at fault, after."""
        col = max(1, min(self.column or 1, len(self.query) + 1)) - 1
        return self.query[:col], self.query[col : col + 1] or " ", self.query[col + 1 :]

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "valid": self.error is None,
            "error": self.error,
            "column": self.column,
            "explain": self.explain,
            "scanned": self.scanned,
            "matched": self.matched,
            "post_ids": [p.id for p in self.posts],
        }


def preview_query(repo: Repository, workspace_id: int, query: str) -> Preview:
    result = Preview(query)
    if not query.strip():
        result.error, result.column = "the query is empty", 1
        return result
    try:
        parsed = parse(query)
    except QuerySyntaxError as exc:
        result.error, result.column = exc.message, exc.column
        return result
    result.explain = parsed.explain()
    posts = repo.recent_posts(workspace_id, PREVIEW_SCAN)
    result.scanned = len(posts)
    for p in posts:
        doc = Document.build(
            p.text,
            author_handle=p.author_handle,
            author_name=p.author_name,
            url=p.url,
            lang=p.lang,
            source=p.source,
        )
        if parsed.matches(doc):
            result.matched += 1
            if len(result.posts) < PREVIEW_SHOW:
                result.posts.append(p)
    return result


def find_topic(repo: Repository, workspace_id: int, topic_id: int) -> Topic:
    topic = next((t for t in repo.topics(workspace_id) if t.id == topic_id), None)
    if topic is None:
        raise HTTPException(404, "no such topic in this workspace")
    return topic


@router.get("/w/{workspace_id}/topics")
def topics_page(request: Request, access: Annotated[Access, Depends(page_access())]) -> Response:
    c = ctx(request)
    topics = c.repo.topics(access.workspace.id)
    counts = c.counts(access.workspace.id)["topics"]
    return render(request, "topics.html", {"topics": topics, "counts": counts}, access=access)


def _editor(
    request: Request,
    access: Access,
    topic: Topic | None,
    values: dict[str, str],
    error: str | None = None,
    status: int = 200,
) -> Response:
    preview = preview_query(ctx(request).repo, access.workspace.id, values.get("query", ""))
    context = {
        "topic": topic,
        "v": values,
        "error": error,
        "kinds": [k.value for k in TopicKind],
        "preview": preview,
    }
    return render(request, "topic_edit.html", context, access=access, status_code=status)


@router.get("/w/{workspace_id}/topics/new")
def new_topic(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    kind: str = "brand",
) -> Response:
    return _editor(request, access, None, {"name": "", "kind": kind, "query": ""})


@router.get("/w/{workspace_id}/topics/{topic_id}")
def edit_topic(
    request: Request, topic_id: int, access: Annotated[Access, Depends(page_access())]
) -> Response:
    topic = find_topic(ctx(request).repo, access.workspace.id, topic_id)
    values = {"name": topic.name, "kind": topic.kind, "query": topic.query}
    return _editor(request, access, topic, values)


def _save(
    request: Request,
    access: Access,
    topic: Topic | None,
    name: str,
    kind: str,
    query: str,
    enabled: bool,
) -> Response:
    repo = ctx(request).repo
    values = {"name": name, "kind": kind, "query": query}
    try:
        topic_kind = TopicKind(kind)
        parse(query)
        if topic is None:
            repo.add_topic(access.workspace.id, name, topic_kind, query)
        else:
            repo.update_topic(
                access.workspace.id,
                topic.name,
                name=name.strip() or None,
                kind=topic_kind.value,
                query=query,
                enabled=enabled,
            )
    except QuerySyntaxError as exc:
        return _editor(
            request, access, topic, values, f"The query has an error: {exc.message}", 422
        )
    except (StoreError, ValueError) as exc:
        return _editor(request, access, topic, values, str(exc), 422)
    return RedirectResponse(f"/w/{access.workspace.id}/topics", status_code=303)


@router.post("/w/{workspace_id}/topics/new")
def create_topic(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    query: Annotated[str, Form(max_length=10_000)],
) -> Response:
    return _save(request, access, None, name, kind, query, True)


@router.post("/w/{workspace_id}/topics/{topic_id}")
def update_topic(
    request: Request,
    topic_id: int,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    query: Annotated[str, Form(max_length=10_000)],
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    topic = find_topic(ctx(request).repo, access.workspace.id, topic_id)
    return _save(request, access, topic, name, kind, query, enabled)


@router.post("/w/{workspace_id}/topics/{topic_id}/delete")
def delete_topic(
    request: Request, topic_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    repo = ctx(request).repo
    topic = find_topic(repo, access.workspace.id, topic_id)
    repo.remove_topic(access.workspace.id, topic.name)
    return RedirectResponse(f"/w/{access.workspace.id}/topics", status_code=303)


@router.post("/w/{workspace_id}/preview")
def preview(
    request: Request,
    access: Annotated[Access, Depends(page_access())],
    query: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """The editor's live preview (htmx): errors marked at their column, matching posts."""
    result = preview_query(ctx(request).repo, access.workspace.id, query)
    return render(request, "_preview.html", {"preview": result}, access=access)
