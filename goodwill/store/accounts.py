"""Users, roles, sessions and API tokens: who may see and change which workspace.

Why in the store and not in the web layer: the CLI creates the first owner and resets passwords
too, and every check that a user may act on a workspace must be the same wherever it is made.
Passwords are hashed with argon2id; session cookies and API tokens are random secrets of which
only a SHA-256 is stored, so a copy of the database gives no way in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goodwill.store.repository import NotFound, StoreError
from goodwill.store.tables import (
    ApiToken,
    LoginFailure,
    Membership,
    User,
    WebSession,
    Workspace,
    utcnow,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "Accounts",
    "LoginRefused",
    "Role",
    "Throttle",
    "hash_secret",
]

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown, so both cases take as long.

    Made on first login, not at import: hashing costs a fifth of a second, and every ``goodwill``
    command imports this module."""
    return _hasher.hash("not a real password, only for timing")


class Role(StrEnum):
    """What a member may do in a workspace; each role can do everything the ones before can."""

    VIEWER = "viewer"  # read everything in the workspace
    RESPONDER = "responder"  # ... and correct labels, answer people
    ADMIN = "admin"  # ... and edit topics, sources and members
    OWNER = "owner"  # ... and everything, including other admins

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class LoginRefused(StoreError):
    """Wrong credentials or too many attempts; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Throttle:
    max_failures: int
    window: timedelta


def hash_secret(raw: str) -> str:
    """SHA-256 of a random secret (session cookie, API token): enough for 256-bit secrets."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise StoreError(f"{email!r} is not an email address")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


class Accounts:
    """Account data for one install."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- users --------------------------------------------------------------------------------
    def user_count(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(User)) or 0)

    def create_user(
        self, email: str, password: str, *, name: str = "", is_owner: bool = False
    ) -> User:
        email = _clean_email(email)
        _check_password(password)
        user = User(
            email=email,
            name=name.strip()[:200],
            password_hash=_hasher.hash(password),
            is_owner=is_owner,
        )
        try:
            with self.session() as s, s.begin():
                s.add(user)
        except IntegrityError as exc:
            raise StoreError(f"there is already a user {email}") from exc
        return user

    def users(self) -> list[User]:
        with self.session() as s:
            return list(s.scalars(select(User).order_by(User.id)))

    def user(self, user_id: int) -> User:
        with self.session() as s:
            user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        return user

    def user_by_email(self, email: str) -> User | None:
        with self.session() as s:
            return s.scalar(select(User).where(User.email == email.strip().lower()))

    def set_password(self, user_id: int, password: str) -> None:
        _check_password(password)
        with self.session() as s, s.begin():
            s.execute(
                update(User).where(User.id == user_id).values(password_hash=_hasher.hash(password))
            )
            # A new password ends every other session (a stolen cookie stops working).
            s.execute(delete(WebSession).where(WebSession.user_id == user_id))

    def delete_user(self, user_id: int) -> None:
        with self.session() as s, s.begin():
            user = s.get(User, user_id)
            if user is None:
                raise NotFound(f"no user {user_id}")
            if user.is_owner:
                raise StoreError("the install's owner cannot be deleted")
            s.delete(user)

    # -- logging in ---------------------------------------------------------------------------
    def _failures(self, s: Session, key: str, since: datetime) -> int:
        return int(
            s.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.key == key, LoginFailure.at >= since)
            )
            or 0
        )

    def authenticate(
        self, email: str, password: str, code: str | None, address: str, throttle: Throttle
    ) -> User:
        """The user these credentials open, or ``LoginRefused``.

        Failures are counted per account and per client address in a sliding window; past the
        limit every attempt is refused (right or wrong) until old failures leave the window.
        The message never says which of email, password or code was wrong.
        """
        email = email.strip().lower()[:320]
        now = utcnow()
        keys = [f"email:{email}", f"addr:{address}"]
        with self.session() as s:
            since = now - throttle.window
            # An address gets more tries than an account: offices share one address.
            if (
                self._failures(s, keys[0], since) >= throttle.max_failures
                or self._failures(s, keys[1], since) >= throttle.max_failures * 4
            ):
                minutes = max(1, int(throttle.window.total_seconds() // 60))
                raise LoginRefused(
                    f"Too many failed attempts. Try again in up to {minutes} minutes."
                )
            user = s.scalar(select(User).where(User.email == email))
        ok = self._password_ok(user, password) and self._code_ok(user, code)
        if not ok or user is None:
            with self.session() as s, s.begin():
                s.add_all([LoginFailure(key=k, at=now) for k in keys])
                s.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
            raise LoginRefused("Wrong email, password or code.")
        with self.session() as s, s.begin():
            s.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
            s.execute(update(User).where(User.id == user.id).values(last_login_at=now))
        return user

    def _password_ok(self, user: User | None, password: str) -> bool:
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if user is None:
            return False
        if _hasher.check_needs_rehash(user.password_hash):
            with self.session() as s, s.begin():
                s.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(password_hash=_hasher.hash(password))
                )
        return True

    def _code_ok(self, user: User | None, code: str | None) -> bool:
        if user is None or user.totp_secret is None:
            return True
        return self.verify_totp(user, code or "")

    # -- second factor ------------------------------------------------------------------------
    @staticmethod
    def new_totp_secret() -> str:
        return str(pyotp.random_base32())

    @staticmethod
    def totp_uri(user: User, secret: str) -> str:
        return str(pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Goodwill"))

    def verify_totp(self, user: User, code: str, secret: str | None = None) -> bool:
        """Checks a 6-digit code (one step of clock drift allowed); a code is accepted once."""
        secret = secret or user.totp_secret
        code = code.strip().replace(" ", "")
        if not secret or not code.isdigit():
            return False
        totp = pyotp.TOTP(secret)
        now = utcnow()
        for drift in (0, -1, 1):
            at = now + timedelta(seconds=drift * totp.interval)
            if totp.verify(code, for_time=at, valid_window=0):
                step = int(at.timestamp()) // totp.interval
                with self.session() as s, s.begin():
                    # Compare-and-set: the same code cannot open two sessions.
                    used = s.execute(
                        update(User)
                        .where(User.id == user.id)
                        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
                        .values(totp_last_step=step)
                    )
                return bool(getattr(used, "rowcount", 0))
        return False

    def enable_totp(self, user: User, secret: str, code: str) -> None:
        if not self.verify_totp(user, code, secret):
            raise StoreError("that code does not match; check the time on your phone")
        with self.session() as s, s.begin():
            s.execute(update(User).where(User.id == user.id).values(totp_secret=secret))

    def disable_totp(self, user_id: int) -> None:
        with self.session() as s, s.begin():
            s.execute(
                update(User).where(User.id == user_id).values(totp_secret=None, totp_last_step=None)
            )

    # -- sessions -----------------------------------------------------------------------------
    def create_session(self, user_id: int, lifetime: timedelta) -> str:
        raw = secrets.token_urlsafe(32)
        now = utcnow()
        with self.session() as s, s.begin():
            s.add(
                WebSession(token_hash=hash_secret(raw), user_id=user_id, expires_at=now + lifetime)
            )
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
        return raw

    def session_user(self, raw: str) -> User | None:
        with self.session() as s:
            row = s.execute(
                select(User, WebSession.expires_at)
                .join(WebSession, WebSession.user_id == User.id)
                .where(WebSession.token_hash == hash_secret(raw))
            ).first()
        if row is None or row[1] < utcnow():
            return None
        return row[0]

    def end_session(self, raw: str) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(WebSession).where(WebSession.token_hash == hash_secret(raw)))

    # -- workspaces and roles -----------------------------------------------------------------
    def role(self, user: User, workspace_id: int) -> Role | None:
        """The user's role in the workspace, or None when they may not see it at all."""
        with self.session() as s:
            if user.is_owner:
                exists = s.get(Workspace, workspace_id) is not None
                return Role.OWNER if exists else None
            role = s.scalar(
                select(Membership.role).where(
                    Membership.user_id == user.id, Membership.workspace_id == workspace_id
                )
            )
        return Role(role) if role else None

    def workspaces_of(self, user: User) -> list[tuple[Workspace, Role]]:
        with self.session() as s:
            if user.is_owner:
                return [
                    (w, Role.OWNER) for w in s.scalars(select(Workspace).order_by(Workspace.id))
                ]
            rows = s.execute(
                select(Workspace, Membership.role)
                .join(Membership, Membership.workspace_id == Workspace.id)
                .where(Membership.user_id == user.id)
                .order_by(Workspace.id)
            ).all()
        return [(w, Role(r)) for w, r in rows]

    def members(self, workspace_id: int) -> list[tuple[User, Role]]:
        with self.session() as s:
            rows = s.execute(
                select(User, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == workspace_id)
                .order_by(User.email)
            ).all()
        return [(u, Role(r)) for u, r in rows]

    def set_member(self, workspace_id: int, user_id: int, role: Role) -> None:
        with self.session() as s, s.begin():
            member = s.get(Membership, (user_id, workspace_id))
            if member is None:
                s.add(Membership(user_id=user_id, workspace_id=workspace_id, role=role.value))
            else:
                member.role = role.value

    def remove_member(self, workspace_id: int, user_id: int) -> None:
        with self.session() as s, s.begin():
            member = s.get(Membership, (user_id, workspace_id))
            if member is None:
                raise NotFound(f"user {user_id} is not a member of this workspace")
            s.delete(member)

    # -- API tokens ---------------------------------------------------------------------------
    def create_token(self, user_id: int, name: str) -> tuple[ApiToken, str]:
        """A new token; the raw value is returned once and never stored."""
        name = name.strip()[:200] or "token"
        raw = "gw_" + secrets.token_urlsafe(32)
        token = ApiToken(user_id=user_id, name=name, token_hash=hash_secret(raw), prefix=raw[:10])
        with self.session() as s, s.begin():
            s.add(token)
        return token, raw

    def tokens(self, user_id: int) -> list[ApiToken]:
        with self.session() as s:
            return list(
                s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
            )

    def revoke_token(self, user_id: int, token_id: int) -> None:
        with self.session() as s, s.begin():
            gone = s.execute(
                delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
            )
            if not getattr(gone, "rowcount", 0):
                raise NotFound(f"no token {token_id}")

    def token_user(self, raw: str) -> User | None:
        with self.session() as s, s.begin():
            token = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(raw)))
            if token is None:
                return None
            now = utcnow()
            if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
                token.last_used_at = now
            return s.get(User, token.user_id)
