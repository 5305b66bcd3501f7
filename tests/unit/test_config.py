"""Settings: sensible defaults, and one clear line naming the variable for a bad value."""

from __future__ import annotations

import pytest

from service.config import load_settings
from service.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AFTERCARE_"):
            monkeypatch.delenv(name)


def test_defaults_use_the_embedded_database_and_the_sandbox() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.uses_sandbox
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert str(settings.data_dir) == "var"
    assert settings.telegram_api_base == "https://api.telegram.org"


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERCARE_TELEGRAM_TOKEN", "123456:very-secret")
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", "postgresql+asyncpg://u:hunter2@db/aftercare")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert "hunter2" not in repr(settings)
    assert not settings.uses_sandbox


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AFTERCARE_DATABASE_URL", "mysql://db/aftercare", "postgresql+asyncpg://"),
        ("AFTERCARE_DATABASE_URL", "postgresql+asyncpg://db:port/aftercare", "port"),
        ("AFTERCARE_DATABASE_URL", "postgresql+asyncpg://db:5432", "must name a database"),
        ("AFTERCARE_DATABASE_URL", "not a url", "postgresql+asyncpg://"),
        ("AFTERCARE_TELEGRAM_TOKEN", "abc", "bot token"),
        ("AFTERCARE_TELEGRAM_API_BASE", "ftp://example", "http(s)://"),
        ("AFTERCARE_WEB_PORT", "eighty", "integer"),
        ("AFTERCARE_WEB_PORT", "70000", "65535"),
        ("AFTERCARE_DEFAULT_TIMEZONE", "Mars/Olympus", "IANA timezone"),
        ("AFTERCARE_DEFAULT_LANGUAGE", "fr", "'en' or 'es'"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable} ")
    assert expected in message
    assert "\n" not in message
