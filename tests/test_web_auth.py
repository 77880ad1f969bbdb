"""Accounts and web security: first run, login, sessions, CSRF, throttling, TOTP, roles, tokens."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from goodwill.domain import TopicKind
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role, hash_secret
from goodwill.store.repository import Repository
from goodwill.store.tables import ApiToken, User, WebSession
from goodwill.web.app import create_app
from tests.webclient import PASSWORD, csrf, logged_in, make_user


def _login(client: TestClient, email: str, password: str, code: str = "") -> int:
    token = csrf(client, "/login")
    data = {"email": email, "password": password, "code": code, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False).status_code


def test_first_run_creates_the_owner_then_closes(repo: Repository, settings: Settings) -> None:
    client = TestClient(create_app(repo, settings))
    first = client.get("/", follow_redirects=False)
    assert first.headers["location"] == "/setup/owner"
    token = csrf(client, "/setup/owner")
    short = client.post(
        "/setup/owner", data={"email": "me@example.com", "password": "short", "csrf_token": token}
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    made = client.post(
        "/setup/owner",
        data={"email": "me@example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/setup"
    cookie = made.headers["set-cookie"]
    assert "gw_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    user = Accounts(repo.engine).user_by_email("me@example.com")
    assert user is not None and user.is_owner
    assert user.password_hash.startswith("$argon2id$")
    # A second visitor cannot create another owner.
    other = TestClient(create_app(repo, settings))
    token = csrf(other, "/login")
    again = other.post(
        "/setup/owner",
        data={"email": "evil@example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert again.headers["location"] == "/login"
    assert Accounts(repo.engine).user_count() == 1


def test_secure_cookie_over_https(repo: Repository, settings: Settings) -> None:
    make_user(repo, "a@example.com", owner=True)
    client = TestClient(create_app(repo, settings), base_url="https://goodwill.example")
    token = csrf(client, "/login")
    answer = client.post(
        "/login",
        data={"email": "a@example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert "Secure" in answer.headers["set-cookie"]


def test_pages_need_a_login_and_logout_ends_the_session(
    repo: Repository, settings: Settings
) -> None:
    ws = repo.add_workspace("A")
    make_user(repo, "a@example.com", workspace_id=ws.id)
    anonymous = TestClient(create_app(repo, settings))
    answer = anonymous.get(f"/w/{ws.id}/mentions", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert anonymous.get(f"/api/workspaces/{ws.id}/mentions").status_code == 401
    client = logged_in(repo, settings, "a@example.com")
    assert client.get(f"/w/{ws.id}/mentions").status_code == 200
    cookie = client.cookies.get("gw_session")
    client.post("/logout", data={"csrf_token": csrf(client)})
    with Session(repo.engine) as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
    # The old cookie, replayed, opens nothing.
    replay = TestClient(create_app(repo, settings), cookies={"gw_session": cookie or ""})
    assert replay.get(f"/w/{ws.id}/mentions", follow_redirects=False).status_code == 303


def test_wrong_credentials_then_throttling(repo: Repository, settings: Settings) -> None:
    make_user(repo, "a@example.com", owner=True)
    settings = settings.model_copy(update={"login_max_failures": 3})
    client = TestClient(create_app(repo, settings))
    assert _login(client, "a@example.com", "wrong password!") == 401
    assert _login(client, "nobody@example.com", PASSWORD) == 401
    assert _login(client, "a@example.com", "wrong again!!") == 401
    assert _login(client, "a@example.com", "and again!!!") == 401
    # Three failures for the account: now even the right password is refused.
    token = csrf(client, "/login")
    refused = client.post(
        "/login", data={"email": "a@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 401 and "Too many failed attempts" in refused.text


def test_csrf_is_required_on_every_change(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("A")
    make_user(repo, "a@example.com", workspace_id=ws.id, role=Role.ADMIN)
    client = logged_in(repo, settings, "a@example.com")
    form = {"name": "t", "kind": "brand", "query": "x"}
    assert client.post(f"/w/{ws.id}/topics/new", data=form).status_code == 403
    bad = {**form, "csrf_token": "0" * 64}
    assert client.post(f"/w/{ws.id}/topics/new", data=bad).status_code == 403
    assert client.post(f"/api/workspaces/{ws.id}/topics", json=form).status_code == 403
    assert repo.topics(ws.id) == []
    token = csrf(client)
    ok = client.post(f"/api/workspaces/{ws.id}/topics", json=form, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    # A login form posted from another site (no token) is refused too.
    fresh = TestClient(create_app(repo, settings))
    data = {"email": "a@example.com", "password": PASSWORD}
    assert fresh.post("/login", data=data).status_code == 403


def test_roles_limit_what_members_change(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("A")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "acme")
    make_user(repo, "viewer@example.com", workspace_id=ws.id, role=Role.VIEWER)
    make_user(repo, "admin@example.com", workspace_id=ws.id, role=Role.ADMIN)
    viewer = logged_in(repo, settings, "viewer@example.com")
    token = csrf(viewer)
    form = {"name": "t", "kind": "brand", "query": "x", "csrf_token": token}
    assert viewer.post(f"/w/{ws.id}/topics/new", data=form).status_code == 403
    assert viewer.get(f"/w/{ws.id}/topics").status_code == 200
    assert viewer.get(f"/api/workspaces/{ws.id}/members").status_code == 403
    admin = logged_in(repo, settings, "admin@example.com")
    token = csrf(admin)
    # An admin cannot make owners, nor demote one.
    grant = {"email": "viewer@example.com", "role": "owner", "csrf_token": token}
    assert admin.post(f"/w/{ws.id}/members", data=grant).status_code == 403
    grant["role"] = "responder"
    assert admin.post(f"/w/{ws.id}/members", data=grant, follow_redirects=False).status_code == 303
    members = {m["email"]: m["role"] for m in admin.get(f"/api/workspaces/{ws.id}/members").json()}
    assert members["viewer@example.com"] == "responder"


def test_totp_second_factor(repo: Repository, settings: Settings) -> None:
    make_user(repo, "a@example.com", owner=True)
    client = logged_in(repo, settings, "a@example.com")
    token = csrf(client)
    page = client.post("/account/totp/start", data={"csrf_token": token}).text
    secret = page.split('name="secret" value="')[1].split('"')[0]
    wrong = client.post(
        "/account/totp/enable", data={"secret": secret, "code": "000000", "csrf_token": token}
    )
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret).now()
    on = client.post(
        "/account/totp/enable", data={"secret": secret, "code": code, "csrf_token": token}
    )
    assert "Two-factor login is on" in on.text
    other = TestClient(create_app(repo, settings))
    assert _login(other, "a@example.com", PASSWORD) == 401
    # The code just used to turn it on cannot be replayed.
    assert _login(other, "a@example.com", PASSWORD, code) == 401
    with Session(repo.engine) as s:
        s.execute(User.__table__.update().values(totp_last_step=0))
        s.commit()
    assert _login(other, "a@example.com", PASSWORD, pyotp.TOTP(secret).now()) == 303


def test_api_tokens_are_hashed_and_revocable(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("A")
    make_user(repo, "a@example.com", workspace_id=ws.id)
    client = logged_in(repo, settings, "a@example.com")
    page = client.post("/account/tokens", data={"name": "ci", "csrf_token": csrf(client)}).text
    raw = page.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith("gw_")
    with Session(repo.engine) as s:
        stored = s.execute(select(ApiToken.token_hash, ApiToken.prefix)).one()
    assert stored.token_hash == hash_secret(raw) and raw not in stored.token_hash
    assert stored.prefix == raw[:10]
    api = TestClient(create_app(repo, settings))
    headers = {"Authorization": f"Bearer {raw}"}
    me = api.get("/api/me", headers=headers)
    assert me.status_code == 200 and me.json()["workspaces"][0]["id"] == ws.id
    # Bearer requests need no CSRF token (no cookie is involved).
    made = api.post("/api/tokens", json={"name": "second"}, headers=headers)
    assert made.status_code == 201
    token_id = made.json()["id"]
    assert api.delete(f"/api/tokens/{token_id}", headers=headers).status_code == 204
    assert (
        api.get("/api/me", headers={"Authorization": f"Bearer {made.json()['token']}"}).status_code
        == 401
    )
    assert api.get("/api/me", headers={"Authorization": "Bearer gw_nonsense"}).status_code == 401
    assert api.get("/api/openapi.json").json()["paths"]


def test_security_headers_forbid_inline_script(repo: Repository, settings: Settings) -> None:
    client = TestClient(create_app(repo, settings))
    page = client.get("/setup/owner")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text  # only <script src=...> from the app itself
    for src in __import__("re").findall(r'<script src="([^"]+)"', page.text):
        assert src.startswith("/static/")
        assert client.get(src).status_code == 200
