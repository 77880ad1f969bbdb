"""Channels: signed webhooks (Standard Webhooks, or a chat payload) and email over SMTP.

Each ``send`` returns an :class:`Attempt` and raises nothing for the receiver's answers: the
worker decides what a failure means (retry later, give up, disable the endpoint). Secrets (the
SMTP password, webhook secrets) never appear in an attempt's error or in a log line.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from goodwill.alerts.messages import render_html, render_text, slack_body, standard_body
from goodwill.settings import Settings
from goodwill.store.tables import AlertDelivery, AlertEndpoint, AlertEvent

__all__ = [
    "Attempt",
    "check_email",
    "endpoint_label",
    "masked_secret",
    "send_email",
    "send_webhook",
    "sign",
    "smtp_tls_context",
]

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$|^[^@\s<>\"',;]+@localhost$")


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    status: int | None = None
    error: str | None = None
    permanent: bool = False  # retrying cannot help (bad address, message refused)
    gone: bool = False  # HTTP 410: the endpoint asked to be removed


def endpoint_label(kind: str, target: str) -> str:
    """How an endpoint is named in messages and logs: chat webhook URLs carry their secret in
    the path (Slack's ``/services/T…/B…/X…``), so only the scheme and host are shown."""
    if kind == "email":
        return target
    try:
        url = httpx.URL(target)
    except httpx.InvalidURL:
        return "webhook"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}/…"


def masked_secret(secret: str) -> str:
    """A signing secret as shown unless someone asks for it in full: the prefix and its last
    four characters, enough to tell which secret a receiver holds, useless for signing."""
    prefix = "whsec_" if secret.startswith("whsec_") else ""
    return f"{prefix}…{secret[-4:]}" if len(secret) > len(prefix) + 8 else "…"


def check_email(address: str) -> str:
    address = address.strip()
    if not _EMAIL.match(address):
        raise ValueError(f"{address!r} is not an email address")
    return address


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and base64 HMAC-SHA256 of ``id.timestamp.body``
    under the secret's key (the base64 after ``whsec_``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def send_webhook(
    http: httpx.AsyncClient, endpoint: AlertEndpoint, event: AlertEvent, delivery: AlertDelivery
) -> Attempt:
    """POST the event; a 2xx answer is the receiver's acknowledgement."""
    if endpoint.format == "slack":
        body = slack_body(event)
    else:
        body = standard_body(event, delivery.message_id)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        # The id is the delivery's, the same on every retry: receivers de-duplicate on it.
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(endpoint.secret or "", delivery.message_id, timestamp, body),
    }
    try:
        response = await http.post(endpoint.target, content=body, headers=headers)
    except httpx.HTTPError as exc:
        # Messages name the URL without its password; the signing secret is never in them.
        return Attempt(
            ok=False,
            error=f"{endpoint_label('webhook', endpoint.target)}: "
            + (_short(str(exc)) or type(exc).__name__),
        )
    if 200 <= response.status_code < 300:
        return Attempt(ok=True, status=response.status_code)
    error = f"HTTP {response.status_code}: {_short(response.text, 200)}"
    return Attempt(
        ok=False, status=response.status_code, error=error, gone=response.status_code == 410
    )


def _email(settings: Settings, to: str, event: AlertEvent, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    # Header values are folded and encoded by the email package; no CR/LF survives in a title.
    msg["Subject"] = "[Goodwill] " + " ".join(event.title.split())
    msg["From"] = settings.smtp_from
    msg["To"] = to
    domain = settings.smtp_from.rpartition("@")[2] or "goodwill.local"
    msg["Message-ID"] = make_msgid(idstring=message_id, domain=domain)
    msg.set_content(render_text(event))
    msg.add_alternative(render_html(event), subtype="html")
    return msg


def smtp_tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificates verified, host name included; ``smtp_ca_file`` adds a private CA."""
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def _smtp_send(settings: Settings, msg: EmailMessage) -> None:
    assert settings.smtp_host is not None
    smtp: smtplib.SMTP
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=settings.http_timeout,
            context=smtp_tls_context(settings),
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.http_timeout)
    with smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=smtp_tls_context(settings))
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(msg)


async def send_email(
    settings: Settings, endpoint: AlertEndpoint, event: AlertEvent, delivery: AlertDelivery
) -> Attempt:
    """Send through the configured SMTP server; its 250 after the message is the acknowledgement."""
    if not settings.smtp_host:
        return Attempt(ok=False, error="no SMTP server configured (set GOODWILL_SMTP_HOST)")
    msg = _email(settings, endpoint.target, event, delivery.message_id)
    try:
        await asyncio.to_thread(_smtp_send, settings, msg)
    except smtplib.SMTPAuthenticationError as exc:
        return Attempt(
            ok=False, status=exc.smtp_code, error=f"SMTP login refused ({exc.smtp_code})"
        )
    except smtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(str(code) for code, _ in exc.recipients.values())
        permanent = all(code >= 500 for code, _ in exc.recipients.values())
        return Attempt(ok=False, error=f"recipient refused ({codes})", permanent=permanent)
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return Attempt(
            ok=False,
            status=exc.smtp_code,
            error=f"SMTP {exc.smtp_code}: {_short(text, 200)}",
            permanent=exc.smtp_code >= 500,
        )
    except (OSError, smtplib.SMTPException) as exc:
        return Attempt(
            ok=False,
            error=f"SMTP {settings.smtp_host}:{settings.smtp_port}: "
            + (_short(str(exc)) or type(exc).__name__),
        )
    return Attempt(ok=True, status=250)
