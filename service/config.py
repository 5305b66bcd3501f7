"""Settings, read once from the environment (prefix ``AFTERCARE_``) by the entry point."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigError

TELEGRAM_API_BASE = "https://api.telegram.org"
WEBHOOK_PATH = "/telegram/webhook"
# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Settings(BaseSettings):
    """Everything a deployment can configure. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="AFTERCARE_", extra="ignore", frozen=True)

    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql+asyncpg:// URL. Unset: an embedded PostgreSQL under the data dir.",
    )
    data_dir: Path = Field(default=Path("var"), description="Where local state lives.")
    telegram_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather. Unset: the local sandbox Bot API."
    )
    telegram_api_base: str = Field(
        default=TELEGRAM_API_BASE, description="Bot API base URL (a local Bot API server, say)."
    )
    telegram_bot_username: str | None = Field(
        default=None, description="The bot's @username for invite links; asked of getMe if unset."
    )
    web_host: str = Field(default="127.0.0.1", description="Console and webhook listen address.")
    web_port: int = Field(default=8080, ge=1, le=65535, description="Console and webhook port.")
    public_url: str | None = Field(
        default=None,
        description="The console's address as staff reach it, for links in alerts.",
    )
    sandbox_port: int = Field(
        default=8081, ge=0, le=65535, description="Port of the sandbox Bot API (no token set)."
    )
    invite_ttl_days: int = Field(
        default=14, ge=1, le=365, description="Days an invite link stays valid."
    )
    default_timezone: str = Field(
        default="America/New_York", description="Timezone of new clients until they choose."
    )
    default_language: Literal["en", "es"] = Field(
        default="en", description="Language of new clients until they choose."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level (logs never contain message text)."
    )
    send_per_second: float = Field(
        default=30,
        ge=0,
        description="Messages per second the sender allows itself overall (0: no limit; raise it "
        "for paid broadcasts).",
    )
    send_per_chat_per_second: float = Field(
        default=1, ge=0, description="Messages per second to one chat (0: no limit)."
    )
    send_per_group_per_minute: int = Field(
        default=20, ge=0, description="Messages per minute to one group chat (0: no limit)."
    )
    tick_seconds: float = Field(
        default=15,
        gt=0,
        le=3600,
        description="How often a worker plans due check-ins, follow-ups and milestones.",
    )
    webhook_url: str | None = Field(
        default=None,
        description="Public https URL of the web role's /telegram/webhook. Unset: long polling.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Secret Telegram sends with each webhook update; required with a webhook URL.",
    )

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in {"postgresql+asyncpg", "postgresql", "postgres"}:
            raise ValueError("must be a postgresql+asyncpg://user:password@host:port/database URL")
        if not parts.path.strip("/"):
            raise ValueError("must name a database, e.g. postgresql+asyncpg://host/aftercare")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("must name a host, e.g. postgresql+asyncpg://user@db:5432/aftercare")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError("has a port that is not a number") from exc
        return value

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        bot_id, _, secret = value.get_secret_value().partition(":")
        if not bot_id.isdigit() or not secret or any(ch.isspace() for ch in secret):
            raise ValueError("does not look like a bot token (123456:ABC-DEF...) from @BotFather")
        return value

    @field_validator("telegram_api_base", mode="after")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/")

    @field_validator("webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("webhook_url", mode="after")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        try:
            host = parts.hostname
            _ = parts.port
        except ValueError as exc:
            raise ValueError("is not a valid URL") from exc
        if not host:
            raise ValueError(
                f"must be an https:// URL, e.g. https://aftercare.example{WEBHOOK_PATH}"
            )
        if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
            raise ValueError("must be an https:// URL (http:// only for 127.0.0.1 or localhost)")
        if not parts.path.endswith(WEBHOOK_PATH):
            raise ValueError(f"must end in {WEBHOOK_PATH}, where the web role receives updates")
        return value

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("webhook_url") is not None:
                raise ValueError(
                    "is required when AFTERCARE_WEBHOOK_URL is set "
                    "(e.g. from `openssl rand -hex 32`)"
                )
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA timezone such as America/New_York") from exc
        return value

    @property
    def console_url(self) -> str:
        return (self.public_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def uses_sandbox(self) -> bool:
        return self.telegram_token is None


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value becomes one ``ConfigError`` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"AFTERCARE_{field.upper()} {message}") from None
