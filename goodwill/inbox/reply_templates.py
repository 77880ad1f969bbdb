"""Saved reply templates, and the "be authentic" check before a reply is sent.

Templates are allowed: they save typing. What the seeds warn against is the same words sent to
everyone. So each template carries how many times the brand already sent it unchanged (the
comparison of ``templates.normalise_reply``), and a reply whose text was already sent at least
the workspace's template threshold times is flagged before it goes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goodwill.inbox.sent_texts import times_sent
from goodwill.inbox.service import Inbox, InboxError
from goodwill.inbox.templates import normalise_reply
from goodwill.store.inbox_tables import ReplyTemplate
from goodwill.store.repository import NotFound

__all__ = ["ReplyTemplates", "TemplateView"]

NAME_MAX = 200
TEXT_MAX = 5000


@dataclass(slots=True, frozen=True)
class TemplateView:
    id: int
    name: str
    text: str
    sent: int
    """Own posts with this text unchanged (after removing @mentions and links)."""
    flagged: bool
    """Sent at least the workspace's template threshold times: write to the person instead."""


class ReplyTemplates:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.engine = inbox.engine

    def _sent(self, workspace_id: int, texts: Iterable[str]) -> dict[str, int]:
        """How many times each (normalised) text was sent, as of a refresh made now."""
        self.inbox.refresh(workspace_id)
        with self.engine.connect() as conn:
            return times_sent(conn, workspace_id, texts)

    def list(self, workspace_id: int) -> list[TemplateView]:
        threshold = self.inbox.rules(workspace_id).template_threshold
        with Session(self.engine) as s:
            rows = list(
                s.scalars(
                    select(ReplyTemplate)
                    .where(ReplyTemplate.workspace_id == workspace_id)
                    .order_by(ReplyTemplate.name)
                )
            )
        sent = self._sent(workspace_id, {normalise_reply(r.text) for r in rows})
        out = []
        for r in rows:
            n = sent.get(normalise_reply(r.text), 0)
            out.append(TemplateView(r.id, r.name, r.text, n, n >= threshold))
        return out

    def add(self, workspace_id: int, name: str, text: str) -> TemplateView:
        name, text = name.strip(), text.strip()
        if not name or not text:
            raise InboxError("a template needs a name and some text")
        if len(name) > NAME_MAX or len(text) > TEXT_MAX:
            raise InboxError(
                f"a template's name is at most {NAME_MAX} characters, its text {TEXT_MAX}"
            )
        try:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                row = ReplyTemplate(workspace_id=workspace_id, name=name, text=text)
                s.add(row)
        except IntegrityError:
            raise InboxError(f"there is already a template named {name!r}") from None
        return next(t for t in self.list(workspace_id) if t.id == row.id)

    def remove(self, workspace_id: int, template_id: int) -> None:
        with Session(self.engine) as s, s.begin():
            done = s.execute(
                delete(ReplyTemplate).where(
                    ReplyTemplate.workspace_id == workspace_id, ReplyTemplate.id == template_id
                )
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no template {template_id} in this workspace")

    def sent_unchanged(self, workspace_id: int, text: str) -> int | None:
        """How many times the brand already sent ``text`` unchanged, when that reaches the
        template threshold (the reply should get a "be authentic" warning); else None."""
        key = normalise_reply(text)
        if not key:
            return None
        n = self._sent(workspace_id, [key]).get(key, 0)
        return n if n >= self.inbox.rules(workspace_id).template_threshold else None
