"""Helpers for web tests: a logged-in TestClient on the real app, and forms' CSRF tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.repository import Repository
from goodwill.store.tables import User
from goodwill.web.app import create_app

__all__ = ["PASSWORD", "csrf", "logged_in", "make_user"]

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def make_user(
    repo: Repository,
    email: str,
    *,
    owner: bool = False,
    workspace_id: int | None = None,
    role: Role = Role.VIEWER,
) -> User:
    accounts = Accounts(repo.engine)
    user = accounts.create_user(email, PASSWORD, is_owner=owner)
    if workspace_id is not None:
        accounts.set_member(workspace_id, user.id, role)
    return user


def csrf(client: TestClient, page: str = "/account") -> str:
    """The CSRF token of this client's current session, read from a form on ``page``."""
    html = client.get(page).text
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def logged_in(repo: Repository, settings: Settings, email: str) -> TestClient:
    client = TestClient(create_app(repo, settings))
    token = csrf(client, "/login")
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client
