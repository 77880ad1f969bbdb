"""Headers and CSRF protection, applied to every request before any route sees it.

Why a middleware rather than a check in each route: a route added later is protected without
anyone remembering to. The CSRF token is an HMAC of the browser's session cookie (or, before
login, of an anonymous cookie), so it needs no storage and changes at every login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ANON_COOKIE",
    "CSP",
    "SESSION_COOKIE",
    "CsrfMiddleware",
    "SecurityHeaders",
    "cookie_flags",
    "csrf_token",
]

SESSION_COOKIE = "gw_session"
ANON_COOKIE = "gw_anon"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE = {"GET", "HEAD", "OPTIONS"}
_MAX_FORM_BYTES = 10 * 1024 * 1024

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


class SecurityHeaders:
    """Adds the Content-Security-Policy (no inline script) and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cookie_flags(request: Request, secure_setting: bool | None) -> dict[str, Any]:
    """HttpOnly and SameSite=Lax always; Secure when configured or when the request is HTTPS."""
    secure = secure_setting if secure_setting is not None else request.url.scheme == "https"
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


def _token_for(secret: bytes, basis: str) -> str:
    return hmac.new(secret, basis.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token forms and htmx must send back with this browser's next change."""
    return str(request.state.csrf_token)


class CsrfMiddleware:
    """Refuses (403) a state-changing request made with cookies unless it carries the token.

    Requests with an ``Authorization`` header are API calls authenticated by that header alone
    (the API never reads cookies then), which another site cannot forge without CORS.
    """

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool | None) -> None:
        self.app = app
        self.secret = secret.encode()
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookies = SimpleCookie()
        cookies.load(headers.get("cookie", ""))
        session = cookies[SESSION_COOKIE].value if SESSION_COOKIE in cookies else None
        anon = cookies[ANON_COOKIE].value if ANON_COOKIE in cookies else None
        new_anon = None
        if not session and not anon:
            new_anon = anon = secrets.token_urlsafe(24)
        expected = _token_for(self.secret, session or anon or "")
        scope.setdefault("state", {})["csrf_token"] = expected

        if scope["method"] not in _SAFE and "authorization" not in headers:
            given = headers.get(CSRF_HEADER)
            if given is None:
                body, receive = await _buffer(receive)
                if body is None:
                    await PlainTextResponse("Request too large.", 413)(scope, receive, send)
                    return
                given = await _form_field(scope, body)
            if given is None or not hmac.compare_digest(given, expected) or new_anon:
                response = PlainTextResponse(
                    "This form has expired or came from another site. Reload the page and "
                    "try again.",
                    status_code=403,
                )
                await response(scope, receive, send)
                return

        if new_anon is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                request = Request(scope)
                flags = cookie_flags(request, self.secure)
                cookie = f"{ANON_COOKIE}={new_anon}; Path=/; HttpOnly; SameSite=Lax"
                if flags["secure"]:
                    cookie += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None when over the limit), and a receive that replays it to the app."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= _MAX_FORM_BYTES:
            chunks.append(chunk)
        more = message.get("more_body", False)
    if size > _MAX_FORM_BYTES:
        return None, receive
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _form_field(scope: Scope, body: bytes) -> str | None:
    content_type = Headers(scope=scope).get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    sent = False

    async def once() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, once).form()
    except Exception:  # a malformed body simply carries no token
        return None
    value = form.get(CSRF_FIELD)
    await form.close()
    return value if isinstance(value, str) else None
