"""The sender: most urgent lane first, and the right outcome for each answer Telegram gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.clients.models import Client
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.outbox.sender import Sender
from service.outbox.service import enqueue
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, Telegram

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
PERSON = 2024


@pytest.fixture
async def sender(
    sandbox: SandboxServer, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Sender]:
    bot = Telegram(SANDBOX_TOKEN, sandbox.base_url).bot()
    yield Sender(bot, engine, sessions, clock=lambda: NOW)
    await bot.session.close()


async def _queue(
    sessions: async_sessionmaker[AsyncSession], text: str, lane: Lane, client_id: int | None = None
) -> int:
    async with sessions() as session:
        message = await enqueue(session, chat_id=PERSON, text=text, lane=lane, client_id=client_id)
        message.not_before = NOW - timedelta(seconds=1)  # due by the sender's clock
        await session.commit()
    assert message.id is not None
    return message.id


async def _row(sessions: async_sessionmaker[AsyncSession], row_id: int) -> OutboxMessage:
    async with sessions() as session:
        row = await session.get(OutboxMessage, row_id)
    assert row is not None
    return row


async def test_the_most_urgent_lane_goes_first(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    await _queue(sessions, "scheduled check-in", Lane.scheduled)
    await _queue(sessions, "a reply", Lane.reply)
    await _queue(sessions, "crisis resources", Lane.crisis)
    while await sender.send_next():
        pass
    sent = [message["text"] for message in await telegram.sent_messages(PERSON)]
    assert sent == ["crisis resources", "a reply", "scheduled check-in"]


async def test_flood_control_waits_without_counting_an_attempt(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "hello", Lane.reply)
    await telegram.fail_next("sendMessage", 429, retry_after=7)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts, row.not_before) == (
        OutboxStatus.pending,
        0,
        NOW + timedelta(seconds=7),
    )
    assert not await sender.send_next()  # not due yet


async def test_a_server_error_backs_off_and_keeps_the_message(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "hello", Lane.reply)
    await telegram.fail_next("sendMessage", 502)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    assert row.not_before == NOW + timedelta(seconds=2)
    assert row.last_error is not None
    assert "hello" not in row.last_error


async def test_a_blocked_bot_marks_the_client_unreachable(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    await telegram.block(PERSON)
    async with sessions() as session:
        client = Client(code="RAE234", first_name="Rae", timezone="UTC", telegram_user_id=PERSON)
        session.add(client)
        await session.commit()
    row_id = await _queue(sessions, "hello", Lane.scheduled, client_id=client.id)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.failed, 1)
    assert row.last_error is not None
    assert "Forbidden" in row.last_error
    async with sessions() as session:
        stored = await session.get(Client, client.id)
        assert stored is not None
        assert stored.unreachable_since == NOW


async def test_a_message_telegram_refuses_fails_for_good(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "x" * 4097, Lane.reply)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert row.status == OutboxStatus.failed
    assert await telegram.sent_messages(PERSON) == []
