"""The retention policy: words past AFTERCARE_RETENTION_DAYS are redacted in batches, the records
that something was said stay, and the console says what was removed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.clients.models import Client
from service.clients.retention import Redactor
from service.config import Settings
from service.conversations.models import ConversationState, InboundKind, InboundMessage
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.signals.models import Severity, Signal, SignalKind
from tests.console import HTML, START, Clock, create, signed_in
from tests.integration.test_console_clients import People

OLD = timedelta(days=400)
RECENT = timedelta(days=10)


class Written:
    """A client's words, and what was found in them and sent back, written to the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], people: People) -> None:
        self.sessions = sessions
        self.people = people

    async def message(self, client: Client, text: str, ago: timedelta) -> int:
        async with self.sessions() as session:
            self.people.updates += 1
            message = InboundMessage(
                update_id=self.people.updates,
                client_id=client.id,
                chat_id=client.telegram_chat_id,
                kind=InboundKind.text,
                text=text,
                received_at=START - ago,
            )
            session.add(message)
            await session.commit()
            assert message.id is not None
            return message.id

    async def signal(self, client: Client, message_id: int, words: list[str]) -> int:
        assert client.id is not None
        async with self.sessions() as session:
            signal = Signal(
                client_id=client.id,
                inbound_message_id=message_id,
                kind=SignalKind.relapse,
                severity=Severity.high,
                evidence={"words": words, "in_recent_replies": "2 of 3", "replies": [message_id]},
            )
            session.add(signal)
            await session.commit()
            assert signal.id is not None
            return signal.id

    async def sent(
        self,
        client: Client | None,
        text: str,
        ago: timedelta,
        *,
        status: OutboxStatus = OutboxStatus.sent,
        alert_id: int | None = None,
    ) -> int:
        async with self.sessions() as session:
            message = OutboxMessage(
                lane=Lane.scheduled,
                status=status,
                chat_id=client.telegram_chat_id if client and client.telegram_chat_id else -100,
                payload={"text": text, "parse_mode": "HTML"},
                client_id=client.id if client else None,
                alert_id=alert_id,
                reason={"alert_id": alert_id} if alert_id else {"template": "checkin"},
                created_at=START - ago,
            )
            session.add(message)
            await session.commit()
            assert message.id is not None
            return message.id


async def row(sessions: async_sessionmaker[AsyncSession], model: Any, id: int) -> Any:
    async with sessions() as session:
        return await session.get(model, id)


async def test_old_words_are_redacted_recent_ones_kept_and_a_second_run_changes_nothing(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    people = People(sessions)
    ana = await people.client("Ana")
    written = Written(sessions, people)
    old = await written.message(ana, "i drank last night", OLD)
    recent = await written.message(ana, "a good week with my kids", RECENT)
    old_signal = await written.signal(ana, old, ["drank"])
    recent_signal = await written.signal(ana, recent, ["kids"])
    async with sessions() as session:
        open_alert = Alert(
            client_id=ana.id, kind=SignalKind.relapse, severity=Severity.high, summary="relapse"
        )
        resolved = Alert(
            client_id=ana.id,
            kind=SignalKind.craving,
            severity=Severity.medium,
            status=AlertStatus.resolved,
        )
        session.add_all([open_alert, resolved])
        await session.commit()
        assert open_alert.id is not None and resolved.id is not None
    old_sent = await written.sent(ana, "Ana, you said family matters", OLD)
    recent_sent = await written.sent(ana, "How was today, Ana?", RECENT)
    old_pending = await written.sent(ana, "still to go", OLD, status=OutboxStatus.pending)
    open_alert_note = await written.sent(None, "ABC123: drank", OLD, alert_id=open_alert.id)
    resolved_note = await written.sent(None, "ABC123: craving", OLD, alert_id=resolved.id)
    async with sessions() as session:
        session.add_all(
            [
                ConversationState(
                    key="fsm:9001:9001:default",
                    state="Onboarding:reasons",
                    data={"reasons": "my kids"},
                    updated_at=START - OLD,
                ),
                ConversationState(
                    key="fsm:9002:9002:default",
                    state="Onboarding:reasons",
                    data={"reasons": "my job"},
                    updated_at=START - RECENT,
                ),
            ]
        )
        await session.commit()

    redactor = Redactor(sessions, 365, clock=lambda: START)
    # One message, its signal, two sent messages, one conversation.
    assert await redactor.redact() == 5

    gone = await row(sessions, InboundMessage, old)
    assert gone.text is None and gone.redacted_at == START
    assert gone.kind is InboundKind.text and gone.received_at == START - OLD  # the record stays
    kept = await row(sessions, InboundMessage, recent)
    assert kept.text == "a good week with my kids" and kept.redacted_at is None
    stripped = await row(sessions, Signal, old_signal)
    assert stripped.evidence == {"in_recent_replies": "2 of 3", "replies": [old]}
    assert stripped.kind is SignalKind.relapse and stripped.severity is Severity.high
    assert (await row(sessions, Signal, recent_signal)).evidence["words"] == ["kids"]

    redacted_sent = await row(sessions, OutboxMessage, old_sent)
    assert "text" not in redacted_sent.payload
    assert redacted_sent.payload["parse_mode"] == "HTML" and redacted_sent.payload["redacted_at"]
    assert redacted_sent.status is OutboxStatus.sent and redacted_sent.reason == {
        "template": "checkin"
    }
    assert (await row(sessions, OutboxMessage, recent_sent)).payload["text"].startswith("How")
    assert (await row(sessions, OutboxMessage, old_pending)).payload["text"] == "still to go"
    # An open alert's Telegram messages are edited with their text: kept until it is resolved.
    assert (await row(sessions, OutboxMessage, open_alert_note)).payload["text"]
    assert "text" not in (await row(sessions, OutboxMessage, resolved_note)).payload

    async with sessions() as session:
        states = {
            state.key: (state.state, state.data)
            for state in await session.scalars(sa.select(ConversationState))
        }
    assert states == {
        "fsm:9001:9001:default": (None, {}),
        "fsm:9002:9002:default": ("Onboarding:reasons", {"reasons": "my job"}),
    }

    assert await redactor.redact() == 0  # idempotent
    assert (await row(sessions, InboundMessage, old)).redacted_at == START


async def test_zero_days_keeps_everything(sessions: async_sessionmaker[AsyncSession]) -> None:
    people = People(sessions)
    ana = await people.client("Ana")
    written = Written(sessions, people)
    ancient = await written.message(ana, "years ago", timedelta(days=5000))
    sent = await written.sent(ana, "long ago", timedelta(days=5000))

    assert await Redactor(sessions, 0, clock=lambda: START).redact() == 0
    assert (await row(sessions, InboundMessage, ancient)).text == "years ago"
    assert (await row(sessions, OutboxMessage, sent)).payload["text"] == "long ago"


async def test_batches_smaller_than_the_rows_still_finish(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    people = People(sessions)
    ana, ben = await people.client("Ana"), await people.client("Ben")
    written = Written(sessions, people)
    for number in range(7):
        await written.message(ana if number % 2 else ben, f"old {number}", OLD)
        await written.sent(ana, f"sent {number}", OLD)
    await written.message(ana, "new", RECENT)

    assert await Redactor(sessions, 30, clock=lambda: START, batch_size=2).redact() == 14
    async with sessions() as session:
        left = list(
            await session.scalars(
                sa.select(col(InboundMessage.text)).where(col(InboundMessage.text).is_not(None))
            )
        )
        sent_texts = await session.scalar(
            sa.select(sa.func.count()).where(col(OutboxMessage.payload).has_key("text"))
        )
    assert left == ["new"] and sent_texts == 0


async def test_the_console_says_what_retention_removed(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    ana = await people.client("Ana")
    written = Written(sessions, people)
    old = await written.message(ana, "i drank last night", OLD)
    signal_id = await written.signal(ana, old, ["drank"])
    await written.sent(ana, "Ana, you said your family matters", OLD)
    await written.message(ana, "better today", RECENT)
    async with sessions() as session:
        alert = Alert(client_id=ana.id, kind=SignalKind.relapse, severity=Severity.high)
        session.add(alert)
        await session.flush()
        assert alert.id is not None
        session.add(AlertEvent(alert_id=alert.id, kind=AlertEventKind.opened, signal_id=signal_id))
        await session.commit()
        alert_id = alert.id
    await create(settings, "ada@example.org", "admin")

    async with signed_in(engine, clock, "ada@example.org") as web:
        before = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert before.status_code == 200 and "i drank last night" in before.text

        assert await Redactor(sessions, 365, clock=clock).redact() == 3

        page = await web.get(f"/console/clients/{ana.id}", headers=HTML)
        assert page.status_code == 200
        assert "wrote (removed after retention)" in page.text
        assert "message, sent (removed after retention)" in page.text
        assert "better today" in page.text
        assert "drank" not in page.text and "family matters" not in page.text
        shown = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert shown.status_code == 200
        assert "removed by the retention policy" in shown.text
        assert "drank" not in shown.text
