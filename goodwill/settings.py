"""Deployment settings: one typed object, read from the environment (``GOODWILL_*``) or a file.

Workspace settings (topics, sources, rules) live in the database; only what an operator chooses
when installing lives here. Every field has a description, and a test fails when one is missing
from docs/operations.md.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


def _default_data_dir() -> Path:
    return Path.cwd() / "goodwill-data"


class Settings(BaseSettings):
    """Everything an operator can set. Environment variables win over the ``.env`` file."""

    model_config = SettingsConfigDict(
        env_prefix="GOODWILL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Folder for the embedded database and other local files.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the store. Empty: a SQLite file goodwill.db in data_dir. "
            "Production: postgresql+psycopg://user:password@host/dbname."
        ),
    )
    http_timeout: float = Field(
        default=20.0, gt=0, description="Seconds before an outbound HTTP request gives up."
    )
    http_user_agent: str = Field(
        default="Goodwill/0.1 (+https://github.com/goodwill-social/goodwill)",
        description="User-Agent sent to feeds and social APIs.",
    )
    http_allow_private: bool = Field(
        default=False,
        description=(
            "Allow user-supplied URLs that resolve to loopback or private addresses. Keep off in "
            "production: it lets anyone who can add a source reach internal services."
        ),
    )
    max_post_chars: int = Field(
        default=20_000,
        gt=0,
        description="Posts longer than this are cut (with a note in the post) before storing.",
    )
    ingest_batch_size: int = Field(
        default=1000, gt=0, description="Posts written to the store per transaction."
    )
    listen_min_interval: float = Field(
        default=60.0,
        gt=0,
        description="Smallest polling interval, in seconds, a source may ask for (politeness).",
    )
    listen_max_backoff: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="Longest wait, in seconds, between retries of a source that keeps failing.",
    )

    secret_key: str | None = Field(
        default=None,
        description=(
            "Secret for signing CSRF tokens. Empty: one is generated once and kept in "
            "data_dir/secret_key. Set it (the same on every web process) when running several."
        ),
    )
    session_days: float = Field(
        default=14.0, gt=0, description="Days a web login lasts before asking again."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description=(
            "Mark cookies Secure (sent over HTTPS only). Empty: Secure whenever the request came "
            "over HTTPS, including through a proxy listed in forwarded_allow_ips."
        ),
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description=(
            "Comma-separated addresses of reverse proxies whose X-Forwarded-Proto and "
            "X-Forwarded-For headers `goodwill serve` trusts (for HTTPS detection and "
            "login throttling by client address)."
        ),
    )
    login_max_failures: int = Field(
        default=5,
        gt=0,
        description=(
            "Failed logins allowed per account within login_window_minutes (four times as many "
            "per client address); past it every attempt is refused until the window moves on."
        ),
    )
    login_window_minutes: float = Field(
        default=15.0,
        gt=0,
        description="The sliding window, in minutes, that failed logins count in.",
    )
    figures_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "How old, in seconds, the dashboard's figures and the per-topic counts may get before "
            "they are recomputed in the background (0: always recompute, slow on big stores)."
        ),
    )
    live_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often, in seconds, the live stream of new mentions looks for new ones.",
    )

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated on first use and kept in data_dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'goodwill.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
