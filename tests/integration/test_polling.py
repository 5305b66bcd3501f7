"""The bot role's polling loop against the sandbox: a bad token, and two pollers at once."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.bot.app import build_dispatcher, poll
from service.conversations.models import InboundMessage
from service.errors import AftercareError
from service.runtime import Services
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.telegram import Telegram
from tests.people import service_running


async def test_a_refused_token_stops_the_bot_role_with_a_clear_error(
    sandbox: SandboxServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bot = Telegram("1234:not-the-sandbox-token", sandbox.base_url).bot()
    try:
        with pytest.raises(AftercareError, match="check AFTERCARE_TELEGRAM_TOKEN"):
            async with asyncio.timeout(10):
                await poll(bot, build_dispatcher(sessions), asyncio.Event())
    finally:
        await bot.session.close()


async def test_two_bot_processes_answer_each_message_once(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    people = range(5000, 5012)
    async with service_running(services, ("bot", "bot", "worker")):
        for person in people:
            await telegram.ensure_user(person, f"P{person}")
            await telegram.send_text(person, "/start")
            await asyncio.sleep(0.05)
        for person in people:
            await telegram.wait_for_messages(person, 1, timeout=20)
        await asyncio.sleep(0.5)  # time for a duplicate answer, were there one
        for person in people:
            assert len(await telegram.sent_messages(person)) == 1
        polls = await telegram.calls("getUpdates")
        assert any(call["status"] == 409 for call in polls)  # they did get in each other's way
    async with sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(InboundMessage))
    assert count == len(people)
