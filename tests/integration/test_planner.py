"""The planner's ticks on a real database: touches on time and exactly once, follow-ups, misses,
adapting cadences, pauses that end. Time is the planner's clock, set by each test."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.alerts.models import Alert
from service.checkins.cadence import question_on
from service.checkins.models import CadenceChange, Checkin, CheckinKind, CheckinStatus
from service.checkins.planner import Planner
from service.checkins.service import record_scale
from service.clients.models import CadenceMode, Client, ClientState
from service.content.service import Messaging
from service.outbox.models import Lane, OutboxMessage
from service.signals.models import Severity, Signal, SignalKind

ZONE = "America/New_York"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 10:00 in New York: inside a morning window
DISCHARGE = date(2026, 11, 20)  # day 6: the daily phase
T = TypeVar("T")


def planner(sessions: async_sessionmaker[AsyncSession], at: datetime, batch: int = 500) -> Planner:
    return Planner(sessions, Messaging(), clock=lambda: at, batch=batch)


async def add_clients(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    first: int = 0,
    next_checkin_at: datetime | None = NOW - timedelta(minutes=1),
    **fields: object,
) -> list[int]:
    async with sessions() as session:
        defaults: dict[str, object] = {
            "first_name": "Sam",
            "state": ClientState.active,
            "timezone": ZONE,
            "values": ["family", "health"],
            "discharge_date": DISCHARGE,
            "next_checkin_at": next_checkin_at,
        }
        clients = [
            Client(
                code=f"T{n:05d}",
                telegram_user_id=90_000 + n,
                telegram_chat_id=90_000 + n,
                **(defaults | fields),
            )
            for n in range(first, first + count)
        ]
        session.add_all(clients)
        await session.commit()
        return [client.id for client in clients if client.id is not None]


async def rows(sessions: async_sessionmaker[AsyncSession], model: type[T]) -> Sequence[T]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(model)))


async def one_client(sessions: async_sessionmaker[AsyncSession], client_id: int) -> Client:
    async with sessions() as session:
        client = await session.get(Client, client_id)
    assert client is not None
    return client


async def test_a_new_client_hears_first_tomorrow_inside_their_window(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1, next_checkin_at=None)
    await planner(sessions, NOW).plan()
    client = await one_client(sessions, client_id)
    assert client.next_checkin_at is not None
    local = client.next_checkin_at.astimezone(ZoneInfo(ZONE))
    assert local.date() == date(2026, 11, 27)
    assert time(9) <= local.time() < time(12)
    assert await rows(sessions, Checkin) == []


async def test_a_due_client_gets_one_touch_and_the_next_is_planned(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1)
    assert await planner(sessions, NOW).plan() == 1
    assert await planner(sessions, NOW + timedelta(seconds=15)).plan() == 0
    [checkin] = await rows(sessions, Checkin)
    [message] = await rows(sessions, OutboxMessage)
    assert (checkin.kind, checkin.status, checkin.local_date) == (
        CheckinKind.open_question,
        CheckinStatus.sent,
        date(2026, 11, 26),
    )
    assert (message.lane, message.checkin_id, message.dedupe_key) == (
        Lane.scheduled,
        checkin.id,
        f"touch:{client_id}:2026-11-26",
    )
    assert message.reason["touch"] == "checkin" and message.reason["template"]
    assert message.payload["text"].strip()
    client = await one_client(sessions, client_id)
    assert (client.touches, client.last_touch_on) == (1, date(2026, 11, 26))
    assert client.next_checkin_at is not None
    assert client.next_checkin_at.astimezone(ZoneInfo(ZONE)).date() == date(2026, 11, 27)


async def test_the_mix_turns_and_check_ins_ask_open_questions_and_scales_in_turn(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The daily mix is checkin, affirmation, checkin, self_efficacy, checkin, reflection, weekly.
    check_ins = await add_clients(sessions, 6, touches=0)  # six clients: every question's turn
    affirmation = await add_clients(sessions, 1, first=6, touches=1)
    weekly = await add_clients(sessions, 1, first=7, touches=6)
    await planner(sessions, NOW).plan()
    by_client = {message.client_id: message for message in await rows(sessions, OutboxMessage)}
    kinds = {checkin.client_id: checkin.kind for checkin in await rows(sessions, Checkin)}
    assert (kinds[affirmation[0]], kinds[weekly[0]]) == (
        CheckinKind.affirmation,
        CheckinKind.weekly,
    )
    assert _buttons(by_client[affirmation[0]]) == []
    assert len(_buttons(by_client[weekly[0]])) >= 5  # one tap each, and skip
    asked = {question_on(client_id, NOW.date()) for client_id in check_ins}
    assert asked == {"open", "mood", "craving", "confidence"}
    for client_id in check_ins:
        scale = question_on(client_id, NOW.date()) != "open"
        assert kinds[client_id] == (CheckinKind.scale if scale else CheckinKind.open_question)
        assert len(_buttons(by_client[client_id])) == (11 if scale else 0)  # 0-10


def _buttons(message: OutboxMessage) -> list[dict[str, str]]:
    keyboard = message.payload.get("reply_markup", {}).get("inline_keyboard", [])
    return [button for row in keyboard for button in row]


async def test_a_milestone_is_marked_on_its_day_without_turning_the_mix(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1, sobriety_date=date(2026, 10, 27))  # day 30
    await planner(sessions, NOW).plan()
    [checkin] = await rows(sessions, Checkin)
    [message] = await rows(sessions, OutboxMessage)
    assert checkin.kind == CheckinKind.milestone
    assert message.reason["milestone"] == "30"
    assert (await one_client(sessions, client_id)).touches == 0


async def test_two_planners_share_the_due_clients_and_none_is_planned_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await add_clients(sessions, 400)
    first, second = planner(sessions, NOW, batch=25), planner(sessions, NOW, batch=25)
    queued = await asyncio.gather(first.plan(), second.plan())
    assert sum(queued) == 400
    assert min(queued) > 0  # both took a share
    checkins = await rows(sessions, Checkin)
    assert sorted(checkin.client_id for checkin in checkins) == sorted(ids)
    messages = await rows(sessions, OutboxMessage)
    assert sorted(message.client_id or 0 for message in messages) == sorted(ids)


async def test_a_touch_planned_for_a_day_gone_by_is_not_sent_late(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1, next_checkin_at=NOW - timedelta(days=2))
    await planner(sessions, NOW).plan()
    assert await rows(sessions, Checkin) == []
    client = await one_client(sessions, client_id)
    assert client.next_checkin_at is not None and client.next_checkin_at > NOW


async def test_nothing_is_sent_in_quiet_hours(sessions: async_sessionmaker[AsyncSession]) -> None:
    late = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)  # 22:30 in New York
    await add_clients(sessions, 1, next_checkin_at=late - timedelta(minutes=5))
    await planner(sessions, late).plan()
    assert await rows(sessions, Checkin) == []


async def test_an_unanswered_check_in_gets_one_follow_up_then_counts_as_missed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1)
    await planner(sessions, NOW).plan()
    await planner(sessions, NOW + timedelta(hours=5)).follow_up()
    assert len(await rows(sessions, OutboxMessage)) == 1  # too soon
    for hours in (6, 7):  # once only
        await planner(sessions, NOW + timedelta(hours=hours)).follow_up()
    follow_ups = [
        m for m in await rows(sessions, OutboxMessage) if m.reason["touch"] == "follow_up"
    ]
    assert len(follow_ups) == 1
    assert follow_ups[0].reason["category"] == "reengagement"
    await planner(sessions, NOW + timedelta(hours=24)).follow_up()
    [checkin] = await rows(sessions, Checkin)
    assert checkin.status == CheckinStatus.missed
    client = await one_client(sessions, client_id)
    assert (client.missed_in_row, client.answered_in_row) == (1, 0)


async def test_a_run_of_missed_check_ins_is_a_silence_signal_and_an_alert(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1, missed_in_row=2)
    await planner(sessions, NOW).plan()
    await planner(sessions, NOW + timedelta(hours=25)).follow_up()
    [signal] = await rows(sessions, Signal)
    assert (signal.kind, signal.severity, signal.client_id) == (
        SignalKind.silence,
        Severity.medium,
        client_id,
    )
    assert signal.evidence == {"missed_in_row": 3, "threshold": 3}
    [alert] = await rows(sessions, Alert)
    assert alert.kind == SignalKind.silence


@pytest.mark.parametrize(
    ("fields", "signal", "mode", "rule"),
    [
        ({}, SignalKind.relapse, CadenceMode.intensive, "risk reported"),
        ({"missed_in_row": 2}, None, CadenceMode.intensive, "missed check-ins"),
        (
            {"answered_in_row": 6, "discharge_date": date(2026, 9, 1)},
            None,
            CadenceMode.steady,
            "check-ins answered, no risk",
        ),
    ],
)
async def test_the_cadence_adapts_and_records_why(
    sessions: async_sessionmaker[AsyncSession],
    fields: dict[str, object],
    signal: SignalKind | None,
    mode: CadenceMode,
    rule: str,
) -> None:
    [client_id] = await add_clients(sessions, 1, **fields)
    if signal is not None:
        async with sessions() as session:
            session.add(
                Signal(
                    client_id=client_id,
                    kind=signal,
                    severity=Severity.high,
                    created_at=NOW - timedelta(hours=2),
                )
            )
            await session.commit()
    await planner(sessions, NOW).plan()
    [change] = await rows(sessions, CadenceChange)
    assert (change.client_id, change.mode_from, change.mode_to) == (
        client_id,
        CadenceMode.normal,
        mode,
    )
    assert change.reason["rule"] == rule
    client = await one_client(sessions, client_id)
    assert client.cadence_mode == mode
    if mode == CadenceMode.intensive:
        assert client.cadence_mode_until == date(2026, 11, 26) + timedelta(days=14)
        [checkin] = await rows(sessions, Checkin)
        assert checkin.kind in {CheckinKind.open_question, CheckinKind.scale}
        await planner(sessions, NOW + timedelta(days=1)).plan()  # the same signal: once
        assert len(await rows(sessions, CadenceChange)) == 1


async def test_a_pause_that_has_run_its_course_ends(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    over = await add_clients(
        sessions, 1, state=ClientState.paused, paused_until=NOW - timedelta(hours=1)
    )
    await add_clients(
        sessions, 1, first=1, state=ClientState.paused, paused_until=NOW + timedelta(hours=1)
    )
    assert await planner(sessions, NOW).resume() == 1
    client = await one_client(sessions, over[0])
    assert (client.state, client.paused_until, client.next_checkin_at) == (
        ClientState.active,
        None,
        None,
    )
    await planner(sessions, NOW).plan()
    client = await one_client(sessions, over[0])
    assert client.next_checkin_at is not None and client.next_checkin_at > NOW


async def test_opted_out_and_paused_clients_are_not_planned(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        for n, state in enumerate((ClientState.paused, ClientState.opted_out)):
            session.add(
                Client(
                    code=f"Q{n}",
                    first_name="Lee",
                    state=state,
                    telegram_chat_id=70_000 + n,
                    timezone=ZONE,
                    discharge_date=DISCHARGE,
                    next_checkin_at=NOW - timedelta(minutes=1),
                    paused_until=NOW + timedelta(days=3),
                )
            )
        await session.commit()
    assert await planner(sessions, NOW).plan() == 0
    assert await rows(sessions, Checkin) == []
    assert sorted(c.state for c in await rows(sessions, Client)) == sorted(
        [ClientState.paused, ClientState.opted_out]
    )


async def test_a_craving_spike_on_a_scale_is_a_signal_and_makes_the_cadence_intensive(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1, next_checkin_at=NOW + timedelta(hours=1))
    async with sessions() as session:
        client = await session.get(Client, client_id)
        assert client is not None
        checkin = Checkin(
            client_id=client_id,
            kind=CheckinKind.scale,
            status=CheckinStatus.sent,
            local_date=date(2026, 11, 25),
            scheduled_for=NOW - timedelta(days=1),
        )
        session.add(checkin)
        await session.flush()
        await record_scale(
            session,
            client,
            checkin,
            Messaging(),
            NOW - timedelta(hours=20),
            scale="craving",
            value=9,
        )
        await session.commit()
    [signal] = await rows(sessions, Signal)
    assert (signal.kind, signal.severity, signal.evidence) == (
        SignalKind.craving,
        Severity.medium,
        {"scale": "craving", "answer": 9, "threshold": ">= 8"},
    )
    [alert] = await rows(sessions, Alert)
    assert alert.kind == SignalKind.craving
    await planner(sessions, NOW + timedelta(hours=2)).plan()
    [change] = await rows(sessions, CadenceChange)
    assert (change.mode_to, change.reason["signal"]) == (CadenceMode.intensive, "craving")


async def test_one_client_that_cannot_be_planned_does_not_hold_up_the_others(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    [broken] = await add_clients(sessions, 1, timezone="Mars/Olympus_Mons")  # bad stored data
    others = await add_clients(sessions, 3, first=1)
    assert await planner(sessions, NOW).plan() == 3
    assert sorted(checkin.client_id for checkin in await rows(sessions, Checkin)) == others
    client = await one_client(sessions, broken)
    assert client.next_checkin_at == NOW + timedelta(days=1)  # looked at again tomorrow
    assert f"client {broken} could not be planned" in caplog.text
