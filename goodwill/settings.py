"""Deployment settings: one typed object, read from the environment (``GOODWILL_*``) or a file.

Workspace settings (topics, sources, rules) live in the database; only what an operator chooses
when installing lives here. Every field has a description, and a test fails when one is missing
from docs/operations.md.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
        default=5000,
        gt=0,
        description=(
            "Posts written to the store per transaction. Larger batches write each index page "
            "fewer times (measured: 5,000 writes a quarter of the pages 1,000 did at 100,000 "
            "posts); a crash redoes at most one batch."
        ),
    )
    ingest_ahead: bool = Field(
        default=True,
        description=(
            "Large imports (several full batches of at least 1,000 posts) run the pipeline one "
            "batch ahead in a second process while this one writes, on machines with two cores "
            "or more (docs/operations.md). Off: everything in one process."
        ),
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

    analysis: bool = Field(
        default=True,
        description=(
            "Analyse posts as they are stored: sentiment, intent, and offensive or hateful "
            "content. Off: posts are stored without analysis (faster imports)."
        ),
    )
    sentiment: Literal["model", "vader"] = Field(
        default="model",
        description=(
            "Sentiment model: `model` (the trained model shipped with Goodwill: 0.70 macro "
            "recall on TweetEval, about 150 posts/s per core) or `vader` (a lexicon: about "
            "7,000 posts/s, 0.60 macro recall, weaker on social posts), for very large imports."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Fernet key that encrypts source credentials at rest. Empty: a key is created in "
            "data_dir/secret.key on first use. Back it up apart from the database."
        ),
    )
    source_backfill_hours: float = Field(
        default=24.0,
        ge=0,
        description="How far back, in hours, a live source reaches on its first poll.",
    )
    source_unhealthy_after: int = Field(
        default=5,
        gt=0,
        description="Consecutive failed polls after which a source is shown as unhealthy.",
    )

    smtp_host: str | None = Field(
        default=None,
        description="SMTP server that sends alert emails. Empty: email alerts cannot be sent.",
    )
    smtp_port: int = Field(default=587, gt=0, lt=65536, description="Port of the SMTP server.")
    smtp_user: str | None = Field(
        default=None, description="SMTP login name. Empty: send without logging in."
    )
    smtp_password: SecretStr | None = Field(
        default=None, description="SMTP password (never printed or logged)."
    )
    smtp_from: str = Field(
        default="goodwill@localhost", description="From address of alert emails."
    )
    smtp_starttls: bool = Field(
        default=True,
        description="Upgrade the SMTP connection with STARTTLS before logging in and sending.",
    )
    smtp_ssl: bool = Field(
        default=False,
        description=(
            "Implicit TLS (SMTPS, usually port 465): TLS from the first byte. When on, "
            "smtp_starttls is not used."
        ),
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description=(
            "PEM file of the certificate authorities trusted for the SMTP server's certificate "
            "(a private CA or a self-signed server). Empty: the system's trusted authorities."
        ),
    )
    alerts_tick_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How often the listener checks scheduled alerts: digests, spikes and unanswered "
            "questions."
        ),
    )
    alerts_claim_seconds: float = Field(
        default=120.0,
        gt=0,
        description=(
            "How long a delivery worker owns a claimed alert delivery; if it dies, another "
            "worker retries the delivery after this many seconds."
        ),
    )
    alerts_retry_scale: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Multiplies the retry schedule of failed alert deliveries (5 s, 5 min, 30 min, 2 h, "
            "5 h, 10 h, 10 h, with jitter). Tests use a small value."
        ),
    )

    web_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Secret for signing the web app's CSRF tokens. Empty: one is generated once and kept "
            "in data_dir/web_secret. Set it (the same on every web process) when running several."
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
        default=0.0,
        ge=0,
        description=(
            "How old, in seconds, the dashboard's figures and the per-topic counts may get before "
            "they are recomputed in the background (0: read afresh on every request; they come "
            "from the rollups, a few milliseconds)."
        ),
    )
    live_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often, in seconds, the live stream of new mentions looks for new ones.",
    )

    broker_url: str | None = Field(
        default=None,
        description=(
            "Redis URL of the Celery broker for scale-out (redis://host:6379/0): `goodwill "
            "listen` then hands polls and stream batches to `goodwill worker` processes. Empty: "
            "the embedded mode, everything in one process and Celery is never imported."
        ),
    )
    worker_lease_seconds: float = Field(
        default=1800.0,
        gt=0,
        description=(
            "How long a worker owns a task and the source it polls: a task taken by a worker "
            "that died is given to another worker after this many seconds. Keep it longer than "
            "the slowest task (a poll of all its pages, a re-analysis range)."
        ),
    )
    people_half_life_days: float = Field(
        default=90.0,
        gt=0,
        description=(
            "People's standing: a post's weight halves every this many days, so recent "
            "sentiment counts more (docs/people.md)."
        ),
    )
    people_min_posts: int = Field(
        default=2,
        ge=1,
        description="People's standing: with fewer posts with a sentiment, a person is neutral.",
    )
    people_standing_threshold: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description=(
            "People's standing: a recent-weighted sentiment score at or above this makes a "
            "promoter, at or below its negative a detractor."
        ),
    )
    people_advocate_score: float = Field(
        default=40.0,
        ge=0,
        description="The advocate score from which a person who is not a detractor is an advocate.",
    )
    people_rising_days: float = Field(
        default=30.0,
        gt=0,
        description="Rising advocates: the score gained over this many days, against before.",
    )
    people_connect_days: float = Field(
        default=30.0,
        gt=0,
        description=(
            '"Really connect" reminders: advocates and people with a role not contacted for '
            "this many days."
        ),
    )

    def resolved_web_secret(self) -> str:
        """The configured web secret, or one generated on first use and kept in data_dir."""
        if self.web_secret:
            return self.web_secret.get_secret_value()
        path = self.data_dir / "web_secret"
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
