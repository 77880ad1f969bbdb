"""An AT Protocol session for an app password: opened once, refreshed when it expires.

``com.atproto.server.createSession`` is limited hard (30 per 5 minutes and 300 a day per
account), so a session is not opened per poll: it is kept in this process's memory (never
stored, never logged) and shared by every source with the same PDS and identifier. When the
access token expires (HTTP 400 ``ExpiredToken``, after about two hours) it is renewed with
``com.atproto.server.refreshSession`` and the refresh token; only when that fails too is a new
session opened.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from goodwill.sources.api import JsonApi
from goodwill.sources.base import SourceError

__all__ = ["AtSession", "forget_sessions"]

_EXPIRED: Final = frozenset({"ExpiredToken", "InvalidToken"})


@dataclass(slots=True)
class _Tokens:
    access: str
    refresh: str
    did: str


_SESSIONS: dict[str, _Tokens] = {}
_LOCKS: dict[str, asyncio.Lock] = {}


def forget_sessions() -> None:
    """Drop every session held in memory (tests; a changed password)."""
    _SESSIONS.clear()
    _LOCKS.clear()


class AtSession:
    """Requests as the app password's account, through ``api`` (rate limits, retries)."""

    def __init__(self, api: JsonApi, pds_url: str, identifier: str, password: str) -> None:
        self.api = api
        self.pds_url = pds_url.rstrip("/")
        self.identifier = identifier
        self._password = password
        secret = hashlib.sha256(f"{pds_url}\0{identifier}\0{password}".encode()).hexdigest()
        self._key = secret

    async def did(self) -> str:
        return (await self._tokens()).did

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """``api.request`` with the session's access token, renewed once if it expired."""
        tokens = await self._tokens()
        try:
            return await self.api.request(method, path, headers=self._auth(tokens.access), **kwargs)
        except SourceError:
            if not self._expired():
                raise
        tokens = await self._renew(tokens)
        return await self.api.request(method, path, headers=self._auth(tokens.access), **kwargs)

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _expired(self) -> bool:
        response = self.api.last_response
        if response is None or response.status_code not in (400, 401):
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, Mapping) and body.get("error") in _EXPIRED

    def _lock(self) -> asyncio.Lock:
        return _LOCKS.setdefault(self._key, asyncio.Lock())

    async def _tokens(self) -> _Tokens:
        held = _SESSIONS.get(self._key)
        if held is not None:
            return held
        async with self._lock():
            held = _SESSIONS.get(self._key)
            if held is None:
                held = await self._create()
                _SESSIONS[self._key] = held
            return held

    async def _renew(self, stale: _Tokens) -> _Tokens:
        async with self._lock():
            held = _SESSIONS.get(self._key)
            if held is not None and held.access != stale.access:
                return held  # another source renewed it meanwhile
            try:
                answer = await self.api.request(
                    "POST",
                    self.pds_url + "/xrpc/com.atproto.server.refreshSession",
                    headers=self._auth(stale.refresh),
                )
                fresh = _parse(answer)
            except SourceError:
                fresh = await self._create()  # the refresh token expired or was revoked
            _SESSIONS[self._key] = fresh
            return fresh

    async def _create(self) -> _Tokens:
        answer = await self.api.request(
            "POST",
            self.pds_url + "/xrpc/com.atproto.server.createSession",
            json={"identifier": self.identifier, "password": self._password},
            retry=True,
        )
        return _parse(answer)


def _parse(answer: Any) -> _Tokens:
    if isinstance(answer, Mapping):
        access, refresh, did = answer.get("accessJwt"), answer.get("refreshJwt"), answer.get("did")
        if all(isinstance(v, str) and v for v in (access, refresh, did)):
            return _Tokens(str(access), str(refresh), str(did))
    raise SourceError("Bluesky opened no session: check identifier and app_password")
