"""Webhook mode: Telegram (the sandbox) POSTs updates to the web role's /telegram/webhook.

The bot role sets the webhook, the web role records each update in its unit of work and answers
200 only after the commit, and the worker delivers the replies from the outbox.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.bot.app import build_dispatcher
from service.config import Settings, load_settings
from service.conversations.models import InboundMessage
from service.db import create_engine, session_factory
from service.errors import ConfigError
from service.runtime import Services, run_roles
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, Telegram
from service.web.app import TelegramWebhook, create_app
from tests.waiting import eventually

SECRET = "webhook-Secret_0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_UP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def webhook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/telegram/webhook"


def a_message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """An update as Telegram sends it, for a user the sandbox knows."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Lee"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Lee", "language_code": "en"},
            "text": text,
        },
    }


async def inbound_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(InboundMessage))
    return int(count or 0)


@dataclass(frozen=True)
class Running:
    services: Services
    web: httpx.AsyncClient


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    port = free_port()
    return load_settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        web_port=port,
        webhook_url=webhook_url(port),
        webhook_secret=SECRET,
    )


@pytest.fixture
async def webhook_service(
    webhook_settings: Settings, engine: AsyncEngine, sandbox: SandboxServer, telegram: SandboxClient
) -> AsyncIterator[Running]:
    """The bot, worker and web roles in webhook mode against the sandbox."""
    services = Services(webhook_settings, engine, Telegram(SANDBOX_TOKEN, sandbox.base_url))
    stop = asyncio.Event()
    roles = asyncio.get_running_loop().create_task(
        run_roles(services, ["bot", "worker", "web"], stop)
    )
    base_url = f"http://127.0.0.1:{webhook_settings.web_port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as web:

            async def up() -> bool:
                assert not roles.done(), "a role stopped"
                if (await telegram.webhook())["url"] != webhook_settings.webhook_url:
                    return False
                try:
                    return (await web.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, True, within=10)
            yield Running(services, web)
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await roles


async def test_a_person_is_answered_through_the_webhook(
    webhook_service: Running, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(6001, "Ana", language_code="en")
    await telegram.send_text(6001, "/start")
    [answer] = await telegram.wait_for_messages(6001, 1, timeout=15)
    assert "invite link" in answer["text"]

    async def delivered() -> int:
        webhook = await telegram.webhook()
        assert webhook["secret_token"] == SECRET
        return int(webhook["delivered_count"])

    # Counted when the web role's 200 reaches the sandbox, which may come after the answer.
    await eventually(delivered, 1)
    [set_webhook] = await telegram.calls("setWebhook")
    assert set_webhook["params"]["secret_token"] == SECRET
    assert "message" in set_webhook["params"]["allowed_updates"]
    assert not set_webhook["params"].get("drop_pending_updates")
    assert await telegram.calls("getUpdates") == []
    assert await telegram.calls("deleteWebhook") == []
    assert await telegram.commands()  # the command menu is registered in webhook mode too
    assert await inbound_count(sessions) == 1


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_recorded(
    webhook_service: Running, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(6002, "Lee", language_code="en")
    update = a_message(900_001, 6002, "/start")
    web = webhook_service.web
    for headers in ({HEADER: "wrong-secret"}, {HEADER: SECRET[:-1]}, {HEADER: ""}, {}):
        refused = await web.post("/telegram/webhook", json=update, headers=headers)
        assert refused.status_code == 401
    not_an_update = await web.post("/telegram/webhook", content=b"{", headers={HEADER: SECRET})
    assert not_an_update.status_code == 400
    assert (await web.get("/telegram/webhook")).status_code == 405
    await asyncio.sleep(0.3)
    assert await inbound_count(sessions) == 0
    assert await telegram.sent_messages(6002) == []


async def test_an_update_delivered_twice_is_handled_once(
    webhook_service: Running, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    web = webhook_service.web
    # Delivered by the sandbox, then again by hand (Telegram retries when a 200 got lost).
    await telegram.ensure_user(6003, "Kim", language_code="en")
    delivered = await telegram.send_text(6003, "/start")
    await telegram.wait_for_messages(6003, 1, timeout=15)
    again = await web.post("/telegram/webhook", json=delivered, headers={HEADER: SECRET})
    assert again.status_code == 200
    # The same update twice at once: PostgreSQL's unique update_id lets one of them through.
    await telegram.ensure_user(6004, "Lee", language_code="en")
    update = a_message(900_002, 6004, "/start")
    both = await asyncio.gather(
        *(web.post("/telegram/webhook", json=update, headers={HEADER: SECRET}) for _ in range(2))
    )
    assert [answer.status_code for answer in both] == [200, 200]
    await telegram.wait_for_messages(6004, 1, timeout=15)
    await asyncio.sleep(0.5)  # time for a duplicate reply, were there one
    assert len(await telegram.sent_messages(6003)) == 1
    assert len(await telegram.sent_messages(6004)) == 1
    assert await inbound_count(sessions) == 2


async def test_an_unreachable_database_answers_503_so_telegram_retries() -> None:
    engine = create_engine(URL.create("postgresql+asyncpg", host="127.0.0.1", port=1, database="x"))
    bot = Telegram(SANDBOX_TOKEN, "http://127.0.0.1:1").bot()
    webhook = TelegramWebhook(bot, build_dispatcher(session_factory(engine)), SecretStr(SECRET))
    transport = httpx.ASGITransport(app=create_app(engine, webhook=webhook))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as web:
            answer = await web.post(
                "/telegram/webhook", json=a_message(1, 6005, "/start"), headers={HEADER: SECRET}
            )
            assert (await web.get("/healthz")).status_code == 200
    finally:
        await bot.session.close()
        await engine.dispose()
    assert answer.status_code == 503


async def test_without_a_webhook_the_app_has_no_webhook_route(engine: AsyncEngine) -> None:
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as web:
        answer = await web.post("/telegram/webhook", json={}, headers={HEADER: SECRET})
    assert answer.status_code == 404


async def test_switching_back_to_polling_removes_the_webhook_and_keeps_pending_updates(
    settings: Settings,
    engine: AsyncEngine,
    sandbox: SandboxServer,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bot = Telegram(SANDBOX_TOKEN, sandbox.base_url).bot()
    try:  # left over from webhook mode; nothing listens there any more
        await bot.set_webhook(webhook_url(free_port()), secret_token=SECRET)
    finally:
        await bot.session.close()
    await telegram.ensure_user(6006, "Sam", language_code="en")
    await telegram.send_text(6006, "/start")  # waits at Telegram while the webhook fails

    services = Services(settings, engine, Telegram(SANDBOX_TOKEN, sandbox.base_url))
    stop = asyncio.Event()
    roles = asyncio.get_running_loop().create_task(run_roles(services, ["bot", "worker"], stop))
    try:
        [answer] = await telegram.wait_for_messages(6006, 1, timeout=15)
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await roles
    assert "invite link" in answer["text"]
    [delete] = await telegram.calls("deleteWebhook")
    assert not delete["params"].get("drop_pending_updates")
    assert (await telegram.webhook())["url"] == ""
    assert await inbound_count(sessions) == 1


async def test_the_bot_role_retries_telegram_at_start(
    webhook_settings: Settings, engine: AsyncEngine, sandbox: SandboxServer, telegram: SandboxClient
) -> None:
    await telegram.fail_next("setWebhook", 502)
    services = Services(webhook_settings, engine, Telegram(SANDBOX_TOKEN, sandbox.base_url))
    stop = asyncio.Event()
    role = asyncio.get_running_loop().create_task(run_roles(services, ["bot"], stop))
    try:

        async def webhook_set() -> bool:
            assert not role.done(), "the bot role stopped"
            return bool((await telegram.webhook())["url"] == webhook_settings.webhook_url)

        await eventually(webhook_set, True, within=10)
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await role
    assert [call["status"] for call in await telegram.calls("setWebhook")] == [502, 200]


async def test_aftercare_run_in_webhook_mode(tmp_path: Path, database_url: URL) -> None:
    web_port, sandbox_port = free_port(), free_port()
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    env = {
        **clean,
        "AFTERCARE_DATA_DIR": str(tmp_path),
        "AFTERCARE_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "AFTERCARE_WEB_PORT": str(web_port),
        "AFTERCARE_SANDBOX_PORT": str(sandbox_port),
        "AFTERCARE_WEBHOOK_URL": webhook_url(web_port),
        "AFTERCARE_WEBHOOK_SECRET": SECRET,
    }
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "run",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with SandboxClient(f"http://127.0.0.1:{sandbox_port}") as telegram:
            await telegram.wait_until_up(within=START_UP_SECONDS)

            async def webhook_set() -> bool:
                assert service.returncode is None, "aftercare run stopped"
                return bool((await telegram.webhook())["url"] == webhook_url(web_port))

            await eventually(webhook_set, True, within=START_UP_SECONDS)
            await telegram.ensure_user(6007, "Kim", language_code="es")
            await telegram.send_text(6007, "/start una frase que no debe salir en los registros")
            [answer] = await telegram.wait_for_messages(6007, 1, timeout=20)
            assert (await telegram.webhook())["delivered_count"] == 1
        assert answer["text"]
    finally:
        service.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            printed, _ = await service.communicate()
    output = printed.decode()
    assert service.returncode == 0, output
    assert "Traceback" not in output
    assert SECRET not in output
    assert "no debe salir" not in output


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"webhook_url": "https://bot.example/telegram/webhook"},
            "AFTERCARE_WEBHOOK_SECRET is required when AFTERCARE_WEBHOOK_URL is set",
        ),
        (
            {"webhook_url": "http://bot.example/telegram/webhook", "webhook_secret": "s"},
            "AFTERCARE_WEBHOOK_URL must be an https:// URL",
        ),
        (
            {"webhook_url": "https://bot.example/", "webhook_secret": "s"},
            "AFTERCARE_WEBHOOK_URL must end in /telegram/webhook",
        ),
        (
            {"webhook_url": "bot.example/telegram/webhook", "webhook_secret": "s"},
            "AFTERCARE_WEBHOOK_URL must be an https:// URL",
        ),
        (
            {"webhook_url": "https://bot.example/telegram/webhook", "webhook_secret": "a b"},
            "AFTERCARE_WEBHOOK_SECRET must be 1 to 256 characters",
        ),
        (
            {"webhook_url": "https://bot.example/telegram/webhook", "webhook_secret": "x" * 257},
            "AFTERCARE_WEBHOOK_SECRET must be 1 to 256 characters",
        ),
    ],
)
def test_webhook_settings_are_checked(values: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**values)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message
    if len(values.get("webhook_secret", "")) > 1:
        assert values["webhook_secret"] not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://bot.example/telegram/webhook",
        "https://bot.example:8443/aftercare/telegram/webhook",
        "http://127.0.0.1:8080/telegram/webhook",
        "http://localhost:8080/telegram/webhook",
    ],
)
def test_webhook_urls_that_are_accepted(url: str) -> None:
    settings = load_settings(webhook_url=url, webhook_secret=SECRET)
    assert settings.webhook_url == url
    assert SECRET not in repr(settings)


def test_an_empty_webhook_url_means_long_polling() -> None:
    assert load_settings(webhook_url="", webhook_secret="").webhook_url is None
