"""Acting as the care team in Telegram through the sandbox: staff with linked accounts, the team
chat, pressing the buttons under alerts, and reading an alert's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent
from service.clients.invites import invite_staff, redeem_invite
from service.clients.models import Client
from service.columns import utcnow
from service.outbox.models import OutboxMessage, OutboxStatus
from service.runtime import Services
from service.sandbox.client import JSON, SandboxClient
from service.staff.models import StaffMember, StaffRole
from tests.waiting import eventually

TEAM_CHAT = -100_777
SUPERVISOR = 888
ON_CALL = 999
STRANGER = 555  # in the team chat, not on the team


@dataclass(frozen=True)
class Event:
    """An alert event as a test reads it: kind, who (staff id), when, detail, signal."""

    kind: str
    staff: int | None
    at: datetime
    detail: dict[str, Any]
    signal: int | None = None


def with_settings(services: Services, **changes: Any) -> Services:
    """The same database and sandbox under other settings."""
    return Services(
        services.settings.model_copy(update=changes), services.engine, services.telegram
    )


async def link_staff(
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    person: int,
    name: str,
    role: StaffRole,
    *,
    language: str = "en",
    on_call: bool = False,
) -> int:
    """A staff member whose Telegram account is linked (private chat ``person``); their id."""
    await telegram.ensure_user(person, name, language_code=language)
    async with sessions() as session:
        issued = await invite_staff(
            session, name=name, role=role, ttl=timedelta(days=1), now=utcnow()
        )
        await redeem_invite(
            session, issued.token, telegram_user_id=person, chat_id=person, now=utcnow()
        )
        member = await session.get(StaffMember, issued.subject_id)
        assert member is not None
        member.language = language
        member.on_call = on_call
        await session.commit()
    return issued.subject_id


async def press(telegram: SandboxClient, person: int, message: JSON, label: str) -> None:
    """``person`` presses the button labelled ``label`` under ``message`` (in its chat)."""
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button["text"] == label:
                await telegram.press_button(
                    person,
                    message["message_id"],
                    button["callback_data"],
                    chat_id=message["chat_id"],
                )
                return
    raise AssertionError(f"no button {label!r} in {message['reply_markup']}")


def labels(message: JSON) -> list[list[str]]:
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return [[button["text"] for button in row] for row in markup["inline_keyboard"]]


async def latest(telegram: SandboxClient, chat_id: int, count: int = 1) -> JSON:
    """The bot's last message in a chat, once it has sent ``count``."""
    return (await telegram.wait_for_messages(chat_id, count))[-1]


async def message(telegram: SandboxClient, chat_id: int, message_id: int) -> JSON:
    [found] = [m for m in await telegram.sent_messages(chat_id) if m["message_id"] == message_id]
    return found


async def answers(telegram: SandboxClient, person: int) -> list[str]:
    """What the bot said when ``person``'s button presses were answered, in order ("" for
    nothing)."""
    return [a["text"] or "" for a in await telegram.callback_answers() if a["user_id"] == person]


async def new_client(
    sessions: async_sessionmaker[AsyncSession], code: str, coordinator_id: int | None
) -> Client:
    """A client known to the service but not (yet) in Telegram."""
    async with sessions() as session:
        client = Client(
            code=code, first_name="Kai", timezone="America/New_York", coordinator_id=coordinator_id
        )
        session.add(client)
        await session.commit()
    return client


async def alerts(sessions: async_sessionmaker[AsyncSession]) -> list[Alert]:
    async with sessions() as session:
        return list((await session.scalars(sa.select(Alert).order_by(col(Alert.id)))).all())


async def history(sessions: async_sessionmaker[AsyncSession], alert_id: int) -> list[Event]:
    """An alert's events in the order they were recorded."""
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(AlertEvent)
            .where(col(AlertEvent.alert_id) == alert_id)
            .order_by(col(AlertEvent.id))
        )
        return [
            Event(e.kind.value, e.staff_member_id, e.created_at, e.detail, e.signal_id)
            for e in rows
        ]


async def kinds(sessions: async_sessionmaker[AsyncSession], alert_id: int) -> list[str]:
    return [event.kind for event in await history(sessions, alert_id)]


async def drained(sessions: async_sessionmaker[AsyncSession], within: float = 5.0) -> None:
    """Wait until the sender has dealt with every row queued (nothing pending)."""

    async def pending() -> int:
        async with sessions() as session:
            count = await session.scalar(
                sa.select(sa.func.count()).where(col(OutboxMessage.status) == OutboxStatus.pending)
            )
        return int(count or 0)

    await eventually(pending, 0, within)
