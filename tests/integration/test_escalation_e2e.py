"""End to end, as the care team lives it: a client writes that they want to die; within two
seconds they have the crisis response and their coordinator the alert. Nobody acknowledges, so
five minutes on the supervisor is told, and acknowledges with the button. The alert's history
says who was told, who got it and who acted, and when."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.alerts.escalation import Escalator
from service.alerts.models import Alert, AlertStatus
from service.runtime import Services, messaging_for
from service.sandbox.client import JSON, SandboxClient
from service.staff.models import StaffRole
from tests.people import COORDINATOR, client_of, enrol, service_running
from tests.team import (
    SUPERVISOR,
    alerts,
    answers,
    history,
    kinds,
    labels,
    latest,
    link_staff,
    message,
    press,
)
from tests.waiting import eventually

NEW_YORK = ZoneInfo("America/New_York")


async def test_an_unacknowledged_crisis_reaches_the_supervisor_who_acknowledges_it(
    services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(services):
        coordinator = await link_staff(
            telegram, sessions, COORDINATOR, "Dana", StaffRole.coordinator
        )
        supervisor = await link_staff(telegram, sessions, SUPERVISOR, "Sam", StaffRole.supervisor)
        chat = await enrol(telegram, sessions, coordinator_id=coordinator)

        sent = time.monotonic()
        await chat.send("I want to kill myself")
        crisis_response = await chat.says()
        crisis_after = time.monotonic() - sent
        alert_message = await latest(telegram, COORDINATOR)
        alert_after = time.monotonic() - sent
        assert crisis_after < 2.0, f"the crisis response took {crisis_after:.2f}s"
        assert alert_after < 2.0, f"the coordinator's alert took {alert_after:.2f}s"
        assert "988" in crisis_response["text"]
        client = await client_of(sessions)
        assert client.code in alert_message["text"]
        assert "critical" in alert_message["text"]
        assert "kill" not in alert_message["text"] and "Kai" not in alert_message["text"]
        [alert] = await alerts(sessions)
        assert alert.id is not None

        # Nobody acknowledges. The ladder's clock, moved on: nothing before five minutes.
        messaging = messaging_for(services.settings)
        opened = alert.escalation_started_at  # the ladder's start: when it opened critical
        assert opened is not None
        early = Escalator(sessions, messaging, clock=lambda: opened + timedelta(minutes=4))
        assert await early.escalate() == 0
        assert await telegram.sent_messages(SUPERVISOR) == []
        due = Escalator(sessions, messaging, clock=lambda: opened + timedelta(minutes=5))
        assert await due.escalate() == 1
        escalated = await latest(telegram, SUPERVISOR)
        assert escalated["text"].startswith(f"Escalation: an alert for client {client.code}")
        assert labels(escalated) == [["Acknowledge", "Call back requested"], ["Resolve"]]

        async def delivered() -> int:
            return (await kinds(sessions, alert.id or 0)).count("delivered")

        await eventually(delivered, 2)  # the coordinator's alert and the supervisor's
        await press(telegram, SUPERVISOR, escalated, "Acknowledge")
        await eventually(lambda: answers(telegram, SUPERVISOR), ["Acknowledged. Thank you."])
        [alert] = await alerts(sessions)
        assert alert.acknowledged_at is not None
        line = f"Acknowledged by Sam, {alert.acknowledged_at.astimezone(NEW_YORK):%H:%M}"

        async def shown() -> list[tuple[str, list[list[str]]]]:
            current = [
                await message(telegram, COORDINATOR, alert_message["message_id"]),
                await message(telegram, SUPERVISOR, escalated["message_id"]),
            ]
            return [(m["text"].splitlines()[-1], labels(m)) for m in current]

        await eventually(shown, [(line, [["Resolve"]])] * 2)
        assert await due.escalate() == 0  # acknowledged: the ladder stopped

    assert (alert.status, alert.acknowledged_by, alert.next_escalation_at) == (
        AlertStatus.acknowledged,
        supervisor,
        None,
    )
    await check_history(sessions, alert, (coordinator, supervisor), (alert_message, escalated))


async def check_history(
    sessions: async_sessionmaker[AsyncSession],
    alert: Alert,
    staff: tuple[int, int],
    sent: tuple[JSON, JSON],
) -> None:
    """Opened, told to the coordinator, delivered, escalated to the supervisor, delivered,
    acknowledged: who and when."""
    assert alert.id is not None
    coordinator, supervisor = staff
    events = [e for e in await history(sessions, alert.id) if e.kind != "updated"]
    assert [(e.kind, e.staff) for e in events] == [
        ("opened", None),
        ("notified", coordinator),
        ("delivered", coordinator),
        ("escalated", supervisor),
        ("delivered", supervisor),
        ("acknowledged", supervisor),
    ]
    opened, notified, to_coordinator, escalated, to_supervisor, acknowledged = events
    assert opened.signal is not None  # the finding behind it
    assert opened.at == notified.at == alert.opened_at
    assert to_coordinator.detail["message_id"] == sent[0]["message_id"]
    assert alert.opened_at <= to_coordinator.at < alert.opened_at + timedelta(seconds=2)
    assert alert.escalation_started_at is not None
    assert escalated.at == alert.escalation_started_at + timedelta(minutes=5)
    assert escalated.detail == {
        "to": "supervisors",
        "chat_id": SUPERVISOR,
        "outbox_id": escalated.detail["outbox_id"],
        "severity": "critical",
        "level": 1,
    }
    assert to_supervisor.detail["message_id"] == sent[1]["message_id"]
    assert acknowledged.at == alert.acknowledged_at
    assert acknowledged.detail == {"via": "telegram", "chat_id": SUPERVISOR}
