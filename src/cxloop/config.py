"""Settings read from ``CXLOOP_*`` environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is wrong; the message names the variable in one line."""


class Settings(BaseSettings):
    """Every knob of a cxloop process; see README for the list."""

    model_config = SettingsConfigDict(env_prefix="CXLOOP_", extra="ignore")

    home: Path = Field(default=Path(".cxloop"))
    database_url: str | None = None
    analytics_url: str | None = None
    queue_url: str | None = None
    smtp_url: str | None = None
    llm_url: str | None = None
    # The shopping assistant's optional OpenAI-compatible model (cxloop.assistant.llm).
    llm_model: str = "default"
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=4.0, gt=0, le=60)
    secret_key: str | None = Field(default=None, min_length=32)
    environment: Literal["development", "production", "test"] = "development"
    default_locale: Literal["fr", "en"] = "en"
    worker_threads: int = Field(default=2, ge=1, le=64)
    metrics_token: str | None = Field(default=None, min_length=16)
    # Where customers reach this server: survey and unsubscribe links in emails use it.
    public_url: str = "http://127.0.0.1:8000"
    # A local sentence-transformers model directory for the optional cxloop[embeddings] extra
    # (read by cxloop.themes.embeddings; never downloaded).
    embeddings_model: Path | None = None
    # Web push: the contact the push services are given (RFC 8292's ``sub``), and whether
    # subscriptions may name an endpoint on this machine over plain HTTP (tests, development).
    push_contact: str = "mailto:webpush@cxloop.invalid"
    push_local_endpoints: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("queue_url")
    @classmethod
    def _known_queue(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("redis://", "rediss://", "sqlite://", "memory://")):
            raise ValueError("must start with redis://, rediss://, sqlite:// or memory://")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _known_smtp(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps://")
        return value

    @field_validator("embeddings_model")
    @classmethod
    def _local_model(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_dir():
            raise ValueError("must be a local model directory (nothing is downloaded)")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def served_at(self, host: str, port: int) -> None:
        """Links follow the address that serves them, unless CXLOOP_PUBLIC_URL says otherwise."""
        if "public_url" in self.model_fields_set:
            return
        wildcard = host in ("0.0.0.0", "::", "")  # noqa: S104  (a comparison, not a bind)
        shown = "127.0.0.1" if wildcard else host
        shown = f"[{shown}]" if ":" in shown else shown
        self.public_url = f"http://{shown}:{port}"

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL of the operational store."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'cxloop.db').resolve()}"

    @property
    def resolved_analytics_url(self) -> str:
        """Where the analytics warehouse lives (DuckDB file by default)."""
        if self.analytics_url:
            return self.analytics_url
        return f"duckdb://{(self.home / 'warehouse.duckdb').resolve()}"

    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, or one kept in CXLOOP_HOME."""
        if self.secret_key:
            return self.secret_key
        if self.environment == "production":
            raise SettingsError("CXLOOP_SECRET_KEY: required in production (32+ characters)")
        path = self.home / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def load_settings() -> Settings:
    """Read the settings, turning a validation failure into one readable line."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(f"CXLOOP_{field.upper()}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
