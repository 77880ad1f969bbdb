"""The REST API under /api: token-authenticated, paginated, described by the OpenAPI schema.

Every route that names a workspace goes through ``deps.api_access``; a workspace the caller is
not a member of answers 404.
"""

from fastapi import APIRouter

from goodwill.web.api import (
    accounts,
    alerts,
    dashboard,
    inbox,
    live,
    mentions,
    people,
    sources,
    topics,
)

__all__ = ["router"]

router = APIRouter(prefix="/api")
for _module in (accounts, topics, sources, mentions, dashboard, live, inbox, people, alerts):
    router.include_router(_module.router)
