"""The HTML pages, one router per area."""

from fastapi import APIRouter

from goodwill.web.pages import dashboard, mentions, people, settings, setup, sources, topics

__all__ = ["router"]

router = APIRouter()
for _module in (setup, dashboard, mentions, topics, sources, settings, people):
    router.include_router(_module.router)
