"""The weekly check-in in the chat: sent the way the planner sends it, answered one tap at a time,
summed up in the client's language; strong cravings and low answers become signals, the urgent
ones alerts, and a double tap counts once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.checkins.models import Checkin, CheckinKind, CheckinStatus
from service.checkins.service import local_now
from service.checkins.weekly import question_message
from service.clients.models import Client
from service.columns import utcnow
from service.outbox.models import Lane, OutboxMessage
from service.outbox.service import enqueue
from service.runtime import Services
from service.sandbox.client import JSON, SandboxClient
from service.signals.models import Signal
from tests.people import (
    COORDINATOR,
    PERSON,
    Chat,
    client_of,
    enrol,
    link_coordinator,
    service_running,
)
from tests.waiting import eventually


async def send_weekly(sessions: async_sessionmaker[AsyncSession]) -> int:
    """What the planner does: a sent weekly check-in and its first question on the scheduled
    lane. The check-in's id."""
    now = utcnow()
    async with sessions() as session:
        client = await session.scalar(
            sa.select(Client).where(col(Client.telegram_user_id) == PERSON)
        )
        assert client is not None and client.id is not None
        assert client.telegram_chat_id is not None
        checkin = Checkin(
            client_id=client.id,
            kind=CheckinKind.weekly,
            status=CheckinStatus.sent,
            local_date=local_now(client, now).date(),
            scheduled_for=now,
            sent_at=now,
        )
        session.add(checkin)
        client.last_touch_on = checkin.local_date  # and nothing else is due today
        client.next_checkin_at = now + timedelta(days=1)
        await session.flush()
        assert checkin.id is not None
        body, keyboard = question_message(client.language, checkin.id, 0)
        await enqueue(
            session,
            chat_id=client.telegram_chat_id,
            text=body,
            lane=Lane.scheduled,
            reply_markup=keyboard,
            client_id=client.id,
        )
        await session.commit()
        return checkin.id


async def tap_through(chat: Chat, message: JSON, labels: list[str]) -> JSON:
    """Answer ``message``'s question and each that follows with a label; the bot's last message."""
    for label in labels:
        await chat.press(message, label)
        message = await chat.says()
    return message


async def recorded(
    sessions: async_sessionmaker[AsyncSession], checkin_id: int
) -> tuple[Checkin, list[tuple[str, str, dict[str, Any]]], list[tuple[str, str, str]]]:
    """The check-in, its signals (kind, severity, evidence) and the alerts (kind, severity,
    status), read back through a session of their own."""
    async with sessions() as session:
        checkin = await session.get(Checkin, checkin_id)
        signals = (
            await session.scalars(
                sa.select(Signal)
                .where(col(Signal.checkin_id) == checkin_id)
                .order_by(col(Signal.id))
            )
        ).all()
        alerts = (await session.scalars(sa.select(Alert).order_by(col(Alert.id)))).all()
    assert checkin is not None
    return (
        checkin,
        [(s.kind, s.severity, s.evidence) for s in signals],
        [(a.kind, a.severity, a.status) for a in alerts],
    )


async def test_four_taps_get_a_summary_and_strong_cravings_alert_the_coordinator(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coordinator_id = await link_coordinator(telegram, sessions)
    chat = await enrol(telegram, sessions, coordinator_id=coordinator_id)
    before = await client_of(sessions)
    checkin_id = await send_weekly(sessions)

    first = await chat.says()
    summary = await tap_through(chat, first, ["Considerably", "Moderately", "3-4", "Slightly"])

    assert summary["reply_markup"] is None
    assert summary["text"].startswith(
        "This week cravings bothered you considerably, you're feeling moderately confident "
        "about the coming week, you connected with your supports on 3 or 4 days and you're "
        "slightly satisfied with your progress."
    )
    assert summary["text"].endswith("I'm listening.")
    questions = (await telegram.sent_messages(PERSON))[-5:-1]
    assert [q["text"].split("(")[-1] for q in questions] == ["1/4)", "2/4)", "3/4)", "4/4)"]

    async def keyboards() -> list[Any]:
        sent = await telegram.sent_messages(PERSON)
        return [m["reply_markup"] for m in sent if m["message_id"] in ids]

    ids = {q["message_id"] for q in questions}
    await eventually(keyboards, [None] * 4)  # tapped buttons are gone
    checkin, signals, alerts = await recorded(sessions, checkin_id)
    assert checkin.answers == {"craving": 3, "confidence": 2, "support": 2, "progress": 1}
    assert checkin.status == CheckinStatus.answered
    assert (await client_of(sessions)).answered_in_row == before.answered_in_row + 1
    assert signals == [
        ("craving", "medium", {"weekly": "craving", "answer": 3, "threshold": ">= 3"})
    ]
    assert alerts == [("craving", "medium", AlertStatus.open)]
    [staff_alert] = await telegram.wait_for_messages(COORDINATOR, 1)
    assert "Kai" not in staff_alert["text"]  # a code, never the name
    assert "/console/alerts/" in staff_alert["text"]


async def test_a_spanish_client_can_skip_and_low_answers_become_signals(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coordinator = await link_coordinator(telegram, sessions)
    chat = await enrol(telegram, sessions, language="es", coordinator_id=coordinator)
    checkin_id = await send_weekly(sessions)
    first = await chat.says()
    assert "4 toques" in first["text"] and "omitir" in first["text"]

    summary = await tap_through(chat, first, ["Omitir", "Un poco", "0", "Nada"])

    assert summary["text"].startswith(
        "Esta semana sientes un poco de confianza para los próximos días, no conectaste con tus "
        "apoyos y por ahora tu avance no te satisface."
    )
    checkin, signals, alerts = await recorded(sessions, checkin_id)
    assert checkin.answers == {"craving": None, "confidence": 1, "support": 0, "progress": 0}
    assert checkin.status == CheckinStatus.answered
    assert [(kind, severity, evidence["weekly"]) for kind, severity, evidence in signals] == [
        ("low_scale", "medium", "confidence"),
        ("low_scale", "low", "support"),
        ("low_scale", "low", "progress"),
    ]
    assert alerts == [("low_scale", "medium", AlertStatus.open)]  # low ones inform, not alert
    [staff_alert] = await telegram.wait_for_messages(COORDINATOR, 1)
    assert "low check-in answer" in staff_alert["text"]


async def test_a_double_tap_counts_once_and_is_answered_kindly(
    services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(services):
        chat = await enrol(telegram, sessions)
        before = await client_of(sessions)
        checkin_id = await send_weekly(sessions)
        question = await chat.says()
    for _ in range(2):  # both taps arrive before the bot could remove the buttons
        await chat.press(question, "Extremely")

    async def toasts() -> list[str | None]:
        answers = await telegram.callback_answers()
        return [a["text"] for a in answers if a["message_id"] == question["message_id"]]

    async with service_running(services):
        await eventually(toasts, [None, "Already noted, thank you."])  # both taps handled
        assert (await chat.says())["text"].endswith("(2/4)")
    async with sessions() as session:
        reasons = (
            await session.scalars(
                sa.select(OutboxMessage.reason).where(col(OutboxMessage.method) == "sendMessage")
            )
        ).all()
    assert [r["step"] for r in reasons if r.get("category") == "weekly"] == ["confidence"]
    checkin, signals, _ = await recorded(sessions, checkin_id)
    assert checkin.answers == {"craving": 4}
    assert (await client_of(sessions)).answered_in_row == before.answered_in_row + 1
    assert [(kind, severity) for kind, severity, _ in signals] == [("craving", "medium")]
