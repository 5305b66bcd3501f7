"""The ``aftercare`` command line, run as a person would run it: as a separate process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clients.invites import redeem_invite
from service.clients.models import Client, Invite
from service.errors import InviteUsed

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def aftercare(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**clean, **env},
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "url",
    ["mysql://db/aftercare", "postgresql+asyncpg://db:port/aftercare", "postgres://"],
)
def test_a_malformed_database_url_stops_start_up_with_one_line(url: str) -> None:
    result = aftercare("migrate", AFTERCARE_DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("aftercare: AFTERCARE_DATABASE_URL ")
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_too() -> None:
    result = aftercare(
        "migrate", AFTERCARE_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/aftercare"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("aftercare: Cannot reach the database at ")
    assert result.stderr.count("\n") == 1


def test_an_unknown_timezone_is_refused_by_the_invite_command() -> None:
    result = aftercare("invite", "client", "--name", "Test", "--tz", "Mars/Olympus_Mons")
    assert result.returncode == 2
    assert "is not an IANA timezone" in result.stderr


async def test_invite_client_json_gives_a_single_use_expiring_token(
    database_url: URL, sessions: async_sessionmaker[AsyncSession]
) -> None:
    url = database_url.render_as_string(hide_password=False)
    result = aftercare(
        "invite", "client", "--name", "Test", "--tz", "America/Denver", "--lang", "es",
        "--discharge-date", "2026-11-01", "--json",
        AFTERCARE_DATABASE_URL=url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    issued = json.loads(result.stdout)
    assert set(issued) == {"id", "token", "link"}
    assert TOKEN.fullmatch(issued["token"])
    assert issued["link"] == f"https://t.me/aftercare_sandbox_bot?start={issued['token']}"

    async with sessions() as session:
        client = await session.get(Client, issued["id"])
        assert client is not None
        assert (client.first_name, client.timezone, client.language) == (
            "Test",
            "America/Denver",
            "es",
        )
        assert str(client.discharge_date) == "2026-11-01"
        invite = await session.get(Invite, 1)
        assert invite is not None
        lifetime = invite.expires_at - datetime.now(UTC)
        assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)
        await redeem_invite(
            session, issued["token"], telegram_user_id=5, chat_id=5, now=datetime.now(UTC)
        )
        await session.commit()
    async with sessions() as session:
        with pytest.raises(InviteUsed):
            await redeem_invite(
                session, issued["token"], telegram_user_id=6, chat_id=6, now=datetime.now(UTC)
            )


def test_invite_staff_prints_token_and_link(database_url: URL) -> None:
    url = database_url.render_as_string(hide_password=False)
    result = aftercare(
        "invite", "staff", "--name", "Dana", "--role", "supervisor",
        AFTERCARE_DATABASE_URL=url, AFTERCARE_TELEGRAM_BOT_USERNAME="@OurCareBot",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"^token: +[A-Za-z0-9_-]{32}$", result.stdout, re.MULTILINE)
    assert re.search(r"^link: +https://t\.me/OurCareBot\?start=", result.stdout, re.MULTILINE)


def test_roles_refuse_a_database_that_is_not_migrated(empty_database_url: URL) -> None:
    url = empty_database_url.render_as_string(hide_password=False)
    result = aftercare("invite", "client", "--name", "Test", AFTERCARE_DATABASE_URL=url)
    assert result.returncode == 1
    assert "run `aftercare migrate`" in result.stderr
    migrated = aftercare("migrate", AFTERCARE_DATABASE_URL=url)
    assert migrated.returncode == 0, migrated.stderr
    assert (
        aftercare("invite", "client", "--name", "Test", AFTERCARE_DATABASE_URL=url).returncode == 0
    )
