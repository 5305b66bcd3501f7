"""The escalation tick on a clock the test moves: an alert nobody acknowledged climbs the ladder
step by step to the right people, once each however many workers run it, and stops when someone
acknowledges; the worker runs it as one of its ticks."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.escalation import Escalator
from service.alerts.models import Alert, AlertEvent, AlertEventKind
from service.alerts.service import raise_alert
from service.checkins.planner import Planner
from service.clients.models import Client
from service.clients.retention import Redactor
from service.columns import utcnow
from service.console.accounts import AccessPolicy, Tidier
from service.content.service import Messaging
from service.outbox.models import OUTBOX, OutboxMessage
from service.runtime import Services, messaging_for
from service.sandbox.client import SandboxClient
from service.scheduler import ESCALATE_SECONDS, ticks
from service.signals.models import Severity, SignalKind
from service.staff.models import StaffRole
from tests.people import COORDINATOR, service_running
from tests.team import (
    ON_CALL,
    SUPERVISOR,
    alerts,
    history,
    labels,
    latest,
    link_staff,
    new_client,
    press,
)
from tests.waiting import eventually

OPENED = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)  # a Wednesday, 14:00 in New York


class Clock:
    """The escalator's time, moved on by the test from when the alert opened."""

    def __init__(self, opened: datetime) -> None:
        self.opened = opened
        self.now = opened

    def __call__(self) -> datetime:
        return self.now

    def at(self, delay: timedelta) -> Clock:
        self.now = self.opened + delay
        return self


async def open_alert(
    sessions: async_sessionmaker[AsyncSession],
    messaging: Messaging,
    client_id: int | None,
    severity: Severity = Severity.critical,
    now: datetime = OPENED,
) -> int:
    async with sessions() as session:
        client = await session.get(Client, client_id)
        assert client is not None
        kind = SignalKind.self_harm if severity is Severity.critical else SignalKind.craving
        alert = await raise_alert(session, client, kind, severity, now=now, messaging=messaging)
        await session.commit()
    assert alert.id is not None
    return alert.id


async def escalations(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, int, str]]:
    """(alert, level, to) of every escalated event, in order."""
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(AlertEvent)
            .where(col(AlertEvent.kind) == AlertEventKind.escalated)
            .order_by(col(AlertEvent.id))
        )
        return [(e.alert_id, e.detail["level"], e.detail["to"]) for e in rows]


async def staffed(
    telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> tuple[int, int, int]:
    """A coordinator (Dana), a supervisor (Sam) and a coordinator on call (Noor), linked."""
    return (
        await link_staff(telegram, sessions, COORDINATOR, "Dana", StaffRole.coordinator),
        await link_staff(telegram, sessions, SUPERVISOR, "Sam", StaffRole.supervisor),
        await link_staff(telegram, sessions, ON_CALL, "Noor", StaffRole.coordinator, on_call=True),
    )


async def test_a_critical_alert_climbs_to_the_supervisors_then_everyone_on_call(
    services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    messaging = messaging_for(services.settings)
    clock = Clock(utcnow())  # the worker's own tick, on the real clock, finds nothing due
    escalator = Escalator(sessions, messaging, clock=clock)
    async with service_running(services):  # the sender delivers
        coordinator, supervisor, on_call = await staffed(telegram, sessions)
        client = await new_client(sessions, "ESC234", coordinator)
        alert_id = await open_alert(sessions, messaging, client.id, now=clock.opened)
        await latest(telegram, COORDINATOR)

        assert await escalator.escalate() == 0  # just opened
        clock.at(timedelta(minutes=4, seconds=59))
        assert await escalator.escalate() == 0
        clock.at(timedelta(minutes=5))
        assert await escalator.escalate() == 1
        to_supervisor = await latest(telegram, SUPERVISOR)
        assert to_supervisor["text"].startswith("Escalation: an alert for client ESC234")
        assert "critical" in to_supervisor["text"]
        assert labels(to_supervisor) == [["Acknowledge", "Call back requested"], ["Resolve"]]
        assert await escalator.escalate() == 0  # the same step is not taken twice
        assert await telegram.sent_messages(ON_CALL) == []  # not yet

        clock.at(timedelta(minutes=15))
        assert await escalator.escalate() == 1
        to_on_call = await latest(telegram, ON_CALL)
        assert to_on_call["text"].startswith("Escalation:")
        clock.at(timedelta(days=2))
        assert await escalator.escalate() == 0  # the top of the ladder
        assert len(await telegram.sent_messages(SUPERVISOR)) == 1
        assert len(await telegram.sent_messages(COORDINATOR)) == 1
    events = [e for e in await history(sessions, alert_id) if e.kind == "escalated"]
    assert [(e.staff, e.detail["level"], e.detail["to"], e.at) for e in events] == [
        (supervisor, 1, "supervisors", clock.opened + timedelta(minutes=5)),
        (on_call, 2, "on_call", clock.opened + timedelta(minutes=15)),
    ]
    [alert] = await alerts(sessions)
    assert (alert.escalation_level, alert.next_escalation_at) == (2, None)


async def test_an_acknowledged_alert_stops_climbing(
    services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    messaging = messaging_for(services.settings)
    clock = Clock(utcnow())
    escalator = Escalator(sessions, messaging, clock=clock)
    async with service_running(services):
        coordinator, _, _ = await staffed(telegram, sessions)
        client = await new_client(sessions, "ACK234", coordinator)
        await open_alert(sessions, messaging, client.id, now=clock.opened)
        sent = await latest(telegram, COORDINATOR)

        async def delivered() -> bool:
            [alert] = await alerts(sessions)
            return "delivered" in [e.kind for e in await history(sessions, alert.id or 0)]

        await eventually(delivered, True)
        await press(telegram, COORDINATOR, sent, "Acknowledge")

        async def acknowledged() -> bool:
            [alert] = await alerts(sessions)
            return alert.acknowledged_at is not None

        await eventually(acknowledged, True)
        clock.at(timedelta(hours=2))
        assert await escalator.escalate() == 0
    assert await escalations(sessions) == []
    assert await telegram.sent_messages(SUPERVISOR) == []


async def test_steps_missed_while_the_workers_were_down_are_all_taken(
    sessions: async_sessionmaker[AsyncSession], telegram: SandboxClient
) -> None:
    messaging = Messaging()
    coordinator, _, _ = await staffed(telegram, sessions)
    client = await new_client(sessions, "LAT234", coordinator)
    alert_id = await open_alert(sessions, messaging, client.id)
    escalator = Escalator(sessions, messaging, clock=Clock(OPENED).at(timedelta(minutes=20)))
    assert await escalator.escalate() == 2
    assert await escalations(sessions) == [
        (alert_id, 1, "supervisors"),
        (alert_id, 2, "on_call"),
    ]


async def test_a_medium_alert_waits_for_nine_on_the_next_working_day(
    sessions: async_sessionmaker[AsyncSession], telegram: SandboxClient
) -> None:
    messaging = Messaging()
    coordinator, _, _ = await staffed(telegram, sessions)
    client = await new_client(sessions, "MED234", coordinator)
    friday_evening = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 18:00 in New York
    alert_id = await open_alert(sessions, messaging, client.id, Severity.medium, friday_evening)
    clock = Clock(friday_evening)
    escalator = Escalator(sessions, messaging, clock=clock)
    for moment in (
        datetime(2026, 11, 28, 14, 0, tzinfo=UTC),  # Saturday 09:00 in New York
        datetime(2026, 11, 30, 13, 59, tzinfo=UTC),  # Monday 08:59
    ):
        clock.now = moment
        assert await escalator.escalate() == 0
    clock.now = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00
    assert await escalator.escalate() == 1
    assert await escalations(sessions) == [(alert_id, 1, "supervisors")]


async def test_a_step_with_nobody_to_tell_is_recorded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    messaging = Messaging()
    client = await new_client(sessions, "NOB234", None)
    alert_id = await open_alert(sessions, messaging, client.id, Severity.high)
    escalator = Escalator(sessions, messaging, clock=Clock(OPENED).at(timedelta(hours=1)))
    assert await escalator.escalate() == 1
    [event] = [e for e in await history(sessions, alert_id) if e.kind == "escalated"]
    assert (event.staff, event.detail) == (
        None,
        {"level": 1, "to": "supervisors", "told": "nobody"},
    )


async def test_two_workers_at_once_take_each_step_once(
    sessions: async_sessionmaker[AsyncSession], telegram: SandboxClient
) -> None:
    messaging = Messaging()
    coordinator, supervisor, on_call = await staffed(telegram, sessions)
    alert_ids = []
    for number in range(40):
        client = await new_client(sessions, f"TWO{number:03d}", coordinator)
        alert_ids.append(await open_alert(sessions, messaging, client.id))
    clock = Clock(OPENED).at(timedelta(minutes=16))
    first, second = (Escalator(sessions, messaging, clock=clock, batch=7) for _ in range(2))
    taken = await asyncio.gather(first.escalate(), second.escalate())
    assert sum(taken) == 80
    steps = Counter((alert, level) for alert, level, _ in await escalations(sessions))
    assert steps == {(alert, level): 1 for alert in alert_ids for level in (1, 2)}
    async with sessions() as session:
        told = Counter(
            (row.staff_member_id, row.reason["escalation"])
            for row in await session.scalars(
                sa.select(OutboxMessage).where(OUTBOX.c.reason.has_key("escalation"))
            )
        )
        levels = set((await session.scalars(sa.select(col(Alert.escalation_level)))).all())
    assert told == {(supervisor, 1): 40, (on_call, 2): 40}
    assert levels == {2}


async def test_the_worker_escalates_as_one_of_its_ticks(
    services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    messaging = messaging_for(services.settings)
    work = ticks(
        Planner(sessions, messaging),
        Escalator(sessions, messaging),
        Tidier(sessions, AccessPolicy()),
        Redactor(sessions, 365),
        plan_every=15,
    )
    assert ("escalate", ESCALATE_SECONDS) in [(tick.id, tick.every) for tick in work]
    coordinator, _, _ = await staffed(telegram, sessions)
    client = await new_client(sessions, "TCK234", coordinator)
    await open_alert(sessions, messaging, client.id, now=utcnow() - timedelta(minutes=6))
    async with service_running(services):  # the tick runs as the worker starts
        escalated = await latest(telegram, SUPERVISOR)
    assert escalated["text"].startswith("Escalation:")


async def test_an_event_being_added_does_not_hold_the_alert_back(
    sessions: async_sessionmaker[AsyncSession], telegram: SandboxClient
) -> None:
    """The sender adds `delivered` events while the tick runs: the row lock their foreign key
    takes must not make the tick skip the alert."""
    messaging = Messaging()
    coordinator, _, _ = await staffed(telegram, sessions)
    client = await new_client(sessions, "KEY234", coordinator)
    alert_id = await open_alert(sessions, messaging, client.id)
    escalator = Escalator(sessions, messaging, clock=Clock(OPENED).at(timedelta(minutes=5)))
    async with sessions() as adding, adding.begin():
        adding.add(AlertEvent(alert_id=alert_id, kind=AlertEventKind.note))
        await adding.flush()  # KEY SHARE on the alert until this transaction ends
        assert await asyncio.wait_for(escalator.escalate(), 5) == 1
