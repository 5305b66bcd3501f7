"""Settings, read once from the environment (prefix ``AFTERCARE_``) by the entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.alerts.ladder import DEFAULT_LADDER, Ladder
from service.alerts.routing import AlertRouting
from service.content.crisis_lines import CrisisLines
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
    web_host: str = Field(
        default="127.0.0.1",
        description="Listen address of the console and webhook, and of the bot's and workers' "
        "metrics.",
    )
    web_port: int = Field(default=8080, ge=1, le=65535, description="Console and webhook port.")
    public_url: str | None = Field(
        default=None,
        description="The console's address as staff reach it, for links in alerts.",
    )
    console_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Minutes without a request after which a console session ends.",
    )
    console_session_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 7,
        description="Hours after signing in when a console session ends, however active.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="Addresses of reverse proxies whose X-Forwarded-For the web role believes "
        "(comma-separated IPs or networks, or *): the console's per-address sign-in limit "
        "needs each person's own address.",
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
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line a record; json: one JSON object a line, for a "
        "log collector (either way, never message text or personal data).",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which the bot and worker roles serve Prometheus /metrics, on "
        "AFTERCARE_WEB_HOST (the web role serves it on its own port); unset: they serve none.",
    )
    retention_days: int = Field(
        default=365,
        ge=0,
        le=3650,
        description="Days the words clients write are kept; older ones are redacted (the "
        "record that a message came stays). 0: kept until the client is erased.",
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

    alert_chat_id: int | None = Field(
        default=None,
        description="The care team's Telegram group chat (a negative id), told of every alert.",
    )
    alert_message_text: bool = Field(
        default=False,
        description="Whether Telegram alerts quote the client's message (off: code, severity, "
        "reason and a console link only).",
    )
    tell_client_when_seen: bool = Field(
        default=False,
        description="Whether a client hears that someone on the team has seen their message.",
    )
    alert_ladder: Annotated[Ladder, NoDecode] = Field(
        default=DEFAULT_LADDER,
        validate_default=False,
        description="Who hears of an unacknowledged alert and when, per severity (JSON).",
    )

    country: str = Field(
        default="US",
        description="Country whose crisis lines and emergency number crisis responses give "
        "(ISO 3166 code; one in the crisis lines file).",
    )
    oncall_phone: str | None = Field(
        default=None,
        description="The program's on-call phone, offered first in crisis responses to clients.",
    )
    crisis_lines: Path | None = Field(
        default=None,
        description="A file of the deployment's own crisis lines, read over the shipped "
        "templates/crisis_lines.toml (same format).",
    )
    lexicons: Path | None = Field(
        default=None,
        description="A directory of the deployment's own classifier lexicons (*.toml), merged "
        "over the shipped ones (docs/signals.md).",
    )

    @field_validator("lexicons", mode="after")
    @classmethod
    def _a_directory(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    _crisis_resources: CrisisLines = PrivateAttr()

    @model_validator(mode="after")
    def _crisis_lines_load(self) -> Settings:
        """Crisis lines are read and checked with the settings: a crisis message must never
        carry the wrong country's numbers or a broken line."""
        try:
            self._crisis_resources = CrisisLines.load(
                self.crisis_lines, country=self.country, oncall=self.oncall_phone
            )
        except (OSError, ValueError) as exc:
            raise ValueError(f"AFTERCARE_COUNTRY / AFTERCARE_CRISIS_LINES: {exc}") from None
        return self

    @property
    def crisis_resources(self) -> CrisisLines:
        return self._crisis_resources

    @field_validator("alert_chat_id", mode="after")
    @classmethod
    def _group_chat(cls, value: int | None) -> int | None:
        if value is not None and value >= 0:
            raise ValueError("must be a group chat's id, which is negative (e.g. -1001234567890)")
        return value

    @field_validator("alert_ladder", mode="before")
    @classmethod
    def _ladder(cls, value: Any) -> Ladder:
        if isinstance(value, Ladder):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not JSON: {exc.msg} (column {exc.colno})") from None
        return Ladder.parse(value)

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

    @field_validator(
        "webhook_url",
        "webhook_secret",
        "alert_chat_id",
        "oncall_phone",
        "crisis_lines",
        "lexicons",
        mode="before",
    )
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

    @property
    def alert_routing(self) -> AlertRouting:
        return AlertRouting(
            team_chat_id=self.alert_chat_id,
            message_text=self.alert_message_text,
            tell_client_when_seen=self.tell_client_when_seen,
            ladder=self.alert_ladder,
            timezone=self.default_timezone,
            team_language=self.default_language,
        )


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value becomes one ``ConfigError`` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a check of several settings names them itself
            raise ConfigError(message) from None
        raise ConfigError(f"AFTERCARE_{str(first['loc'][0]).upper()} {message}") from None
