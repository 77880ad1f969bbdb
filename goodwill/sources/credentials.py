"""Source credentials encrypted at rest, and masked whenever they are shown.

A connector names its secret settings in ``secret_fields``. Before a source's config is stored,
``seal`` replaces each secret value with ``{"sealed": TOKEN}`` (Fernet: AES-128-CBC with an
HMAC, so a tampered value is refused rather than misread); ``unseal`` reverses it in memory just
before a poll; ``masked`` is what people see.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken

from goodwill.settings import Settings
from goodwill.sources.base import CanReply, ConfigError, SourceError

if TYPE_CHECKING:
    from goodwill.store.repository import Repository
    from goodwill.store.tables import Source

__all__ = [
    "KEY_FILE",
    "is_sealed",
    "key_for",
    "masked",
    "scrub",
    "scrubbed",
    "seal",
    "secrets_of",
    "store_rotated",
    "unseal",
]

KEY_FILE = "secret.key"
_SEALED = "sealed"
_MASK = "••••"
# What follows an HTTP authorisation scheme is a credential, ours or one derived from ours (an
# OAuth access token, a session JWT) that no stored setting holds.
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")


def key_for(settings: Settings, *, create: bool = False) -> Fernet:
    """The Fernet of ``settings.secret_key``, else of ``data_dir/secret.key`` (made if asked)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        raw = settings.secret_key.get_secret_value().strip().encode()
        where = "GOODWILL_SECRET_KEY"
    else:
        path = Path(settings.data_dir) / KEY_FILE
        if not path.exists():
            if not create:
                raise ConfigError(
                    f"no key to read stored credentials: set GOODWILL_SECRET_KEY or restore {path}"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        raw = path.read_bytes().strip()
        where = str(path)
    try:
        return Fernet(raw)
    except ValueError:
        raise ConfigError(
            f"the key in {where} is not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None


def is_sealed(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {_SEALED}


def seal(
    config: Mapping[str, Any], secret_fields: Collection[str], settings: Settings
) -> dict[str, Any]:
    """``config`` with every secret field encrypted (already sealed ones are kept)."""
    out = dict(config)
    todo = [k for k in secret_fields if out.get(k) not in (None, "") and not is_sealed(out[k])]
    if not todo:
        return out
    fernet = key_for(settings, create=True)
    for key in todo:
        out[key] = {_SEALED: fernet.encrypt(str(out[key]).encode()).decode("ascii")}
    return out


def unseal(config: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """``config`` with every sealed value decrypted, or ``ConfigError`` naming the field."""
    out = dict(config)
    sealed = [k for k, v in out.items() if is_sealed(v)]
    if not sealed:
        return out
    fernet = key_for(settings)
    for key in sealed:
        try:
            out[key] = fernet.decrypt(str(out[key][_SEALED]).encode()).decode()
        except (InvalidToken, ValueError):
            raise ConfigError(
                f"{key}: the stored credential cannot be decrypted with the current key "
                "(was GOODWILL_SECRET_KEY changed?); add the source again"
            ) from None
    return out


def masked(config: Mapping[str, Any], secret_fields: Collection[str]) -> dict[str, Any]:
    """``config`` fit to show: secrets as ``••••`` plus at most their last four characters
    (only for long ones, so short secrets give nothing away)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key not in secret_fields and not is_sealed(value):
            out[key] = value
        elif is_sealed(value) or value in (None, ""):
            out[key] = _MASK if value not in (None, "") else value
        else:
            text = str(value)
            out[key] = _MASK + (text[-4:] if len(text) >= 16 else "")
    return out


def store_rotated(repo: Repository, src: Source, connector: CanReply, settings: Settings) -> None:
    """Store, sealed, the credentials a provider replaced during a reply (X's one-use refresh
    tokens), whether the reply went through or not: the old ones no longer work."""
    rotated = connector.rotated_secrets()
    if not rotated:
        return
    fields: frozenset[str] = getattr(type(connector), "secret_fields", frozenset(rotated))
    config = seal({**(src.config or {}), **rotated}, fields | set(rotated), settings)
    repo.update_source(src.workspace_id, src.id, config=config)
    src.config = config


def secrets_of(
    config: Mapping[str, Any], secret_fields: Collection[str], settings: Settings
) -> list[str]:
    """The credential values of a source's ``config`` (sealed ones opened; one that cannot be
    opened cannot be shown either), for ``scrub``."""
    out: list[str] = []
    for key, value in config.items():
        if is_sealed(value):
            try:
                value = unseal({key: value}, settings)[key]
            except ConfigError:
                continue
        elif key not in secret_fields:
            continue
        if isinstance(value, str) and value:
            out.append(value)
    return out


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every credential in ``secrets``, and every ``Bearer``/``Basic`` value, masked.

    Error messages quote what a provider answered, and a careless one quotes back what it was
    sent: this is applied wherever such a message is shown or stored.
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, _MASK)
    return _AUTH_VALUE.sub(lambda m: m.group(1) + m.group(2) + _MASK, text)


def scrubbed(exc: SourceError, secrets: Iterable[str]) -> SourceError:
    """``exc`` with its message scrubbed (a copy, so a ``RateLimited`` keeps its wait)."""
    text = scrub(str(exc), secrets)
    if text == str(exc):
        return exc
    clean = type(exc).__new__(type(exc), text)  # not copy.copy: that calls __init__ again
    clean.__dict__.update(exc.__dict__)
    clean.args = (text,)
    return clean
