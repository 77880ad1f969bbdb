"""The HTML pages, one router per area."""

from fastapi import APIRouter

from goodwill.web.pages import (
    alerts,
    dashboard,
    inbox,
    mentions,
    people,
    settings,
    setup,
    sources,
    topics,
)

__all__ = ["router"]

router = APIRouter()
for _module in (setup, dashboard, inbox, people, mentions, topics, sources, alerts, settings):
    router.include_router(_module.router)
