"""The sender records when Telegram accepted an alert message, in the same statement that marks
it sent; a row naming an alert that is gone (or nothing sensible) is still marked sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent
from service.columns import utcnow
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.outbox.pacing import SendLimits
from service.outbox.sender import Sender
from service.outbox.service import enqueue
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.signals.models import Severity, SignalKind
from service.telegram import SANDBOX_TOKEN, Telegram
from tests.people import COORDINATOR, link_coordinator
from tests.team import new_client

NOW = utcnow().replace(microsecond=0) + timedelta(hours=1)
"""The senders' clock: ahead of the database's, so that rows stamped with its now() are due."""
UNLIMITED = SendLimits(per_second=0, per_chat_per_second=0, per_group_per_minute=0)


@pytest.fixture
async def sender(
    sandbox: SandboxServer, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Sender]:
    bot = Telegram(SANDBOX_TOKEN, sandbox.base_url).bot()
    yield Sender(bot, engine, sessions, limits=UNLIMITED, clock=lambda: NOW)
    await bot.session.close()


async def queue(
    sessions: async_sessionmaker[AsyncSession], reason: dict[str, Any], staff_id: int | None
) -> int:
    async with sessions() as session:
        row = await enqueue(
            session,
            chat_id=COORDINATOR,
            text="An alert",
            lane=Lane.alert,
            staff_member_id=staff_id,
            reason=reason,
        )
        await session.commit()
    assert row.id is not None
    return row.id


async def test_an_alert_message_is_recorded_delivered_with_its_message(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coordinator = await link_coordinator(telegram, sessions)
    client = await new_client(sessions, "DEL234", coordinator)
    async with sessions() as session:
        alert = Alert(client_id=client.id or 0, kind=SignalKind.craving, severity=Severity.medium)
        session.add(alert)
        await session.commit()
    alerted = await queue(sessions, {"alert_id": alert.id}, coordinator)
    gone = await queue(sessions, {"alert_id": 987654}, coordinator)  # erased meanwhile
    garbled = await queue(sessions, {"alert_id": "not a number"}, coordinator)
    other = await queue(sessions, {"category": "note"}, coordinator)
    while await sender.send_next():
        pass

    sent = await telegram.sent_messages(COORDINATOR)
    async with sessions() as session:
        events = (await session.scalars(sa.select(AlertEvent))).all()
        rows = {
            row.id: row.status
            for row in await session.scalars(
                sa.select(OutboxMessage).order_by(col(OutboxMessage.id))
            )
        }
    assert rows == {row: OutboxStatus.sent for row in (alerted, gone, garbled, other)}
    assert len(sent) == 4
    [event] = events
    assert (event.alert_id, event.kind, event.staff_member_id, event.created_at) == (
        alert.id,
        "delivered",
        coordinator,
        NOW,
    )
    assert event.detail == {
        "outbox_id": alerted,
        "chat_id": COORDINATOR,
        "message_id": sent[0]["message_id"],
    }
