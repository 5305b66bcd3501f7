"""The console's alert inbox and alert page, over HTTP against the real app and database: ranking
and filters, a coordinator's own clients only, acting on an alert with the same use case (and the
same Telegram edits, through the sandbox) as the buttons, notes and reassigning, who may act,
escaping the client's words, the audit log, and the inbox's cost with 10,000 clients."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.alerts.service import raise_alert
from service.audit.models import AuditEntry
from service.clients.models import Client, ClientState
from service.columns import utcnow
from service.config import Settings
from service.content.service import Messaging
from service.conversations.models import InboundKind, InboundMessage
from service.outbox.models import OutboxMessage
from service.runtime import Services, messaging_for
from service.sandbox.client import JSON, SandboxClient
from service.signals.models import Severity, Signal, SignalKind
from service.staff.models import ConsoleUser, StaffMember, StaffRole
from service.web.console import ConsoleConfig
from tests.console import HTML, START, Clock, create, post, signed_in
from tests.integration.test_alerts import Shown, Team, make_team, shown
from tests.people import COORDINATOR, service_running
from tests.team import TEAM_CHAT, alerts, drained, history, latest, new_client, with_settings
from tests.waiting import eventually

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ROW = re.compile(r'<tr id="alert-(\d+)">')


@dataclass(frozen=True)
class Planned:
    """An alert as a test writes it: whose client, what, and how long ago it opened."""

    coordinator: int | None
    severity: Severity
    minutes_ago: int
    status: AlertStatus = AlertStatus.open
    kind: SignalKind = SignalKind.craving


async def staff(sessions: async_sessionmaker[AsyncSession], *names: str, **extra: Any) -> list[int]:
    """Staff members (coordinators unless told otherwise), their ids in order."""
    async with sessions() as session:
        members = [StaffMember(name=name, **extra) for name in names]
        session.add_all(members)
        await session.commit()
    return [member.id or 0 for member in members]


async def plant(sessions: async_sessionmaker[AsyncSession], plan: list[Planned]) -> list[int]:
    """A client per planned alert and the alert as the ladder left it; the alerts' ids."""
    ids = []
    async with sessions() as session:
        for number, planned in enumerate(plan):
            client = Client(
                code=f"P{number:04d}",
                first_name=f"Person{number}",
                timezone="UTC",
                coordinator_id=planned.coordinator,
            )
            session.add(client)
            await session.flush()
            opened = START - timedelta(minutes=planned.minutes_ago)
            alert = Alert(
                client_id=client.id or 0,
                kind=planned.kind,
                severity=planned.severity,
                status=planned.status,
                summary=planned.kind.value.replace("_", " "),
                assigned_staff_id=planned.coordinator,
                opened_at=opened,
                escalation_started_at=opened,
                next_escalation_at=(
                    opened + timedelta(minutes=5)
                    if planned.status == AlertStatus.open and planned.severity == Severity.critical
                    else None
                ),
                acknowledged_at=(
                    opened + timedelta(minutes=2)
                    if planned.status == AlertStatus.acknowledged
                    else None
                ),
                resolved_at=(
                    opened + timedelta(hours=1) if planned.status == AlertStatus.resolved else None
                ),
            )
            session.add(alert)
            await session.flush()
            ids.append(alert.id or 0)
        await session.commit()
    return ids


async def listed(web: httpx.AsyncClient, query: str = "") -> list[int]:
    page = await web.get(f"/console/alerts{query}", headers=HTML)
    assert page.status_code == 200, page.text
    return [int(found) for found in ROW.findall(page.text)]


def row_of(page: str, alert_id: int) -> str:
    start = page.index(f'<tr id="alert-{alert_id}">')
    return page[start : page.index("</tr>", start)]


async def audit_log(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(col(AuditEntry.action), col(AuditEntry.subject_id))
            .where(
                col(AuditEntry.action).like("console.%"), col(AuditEntry.action) != "console.login"
            )
            .order_by(col(AuditEntry.id))
        )
        return [(action, subject) for action, subject in rows]


async def test_the_inbox_ranks_by_severity_then_age_and_filters(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    dana, lee = await staff(sessions, "Dana", "Lee")
    high, late, recent, seen, done, low = await plant(
        sessions,
        [
            Planned(dana, Severity.high, 60, kind=SignalKind.relapse),
            Planned(lee, Severity.critical, 20, kind=SignalKind.self_harm),
            Planned(dana, Severity.critical, 2, kind=SignalKind.overdose),
            Planned(lee, Severity.medium, 90, AlertStatus.acknowledged),
            Planned(dana, Severity.critical, 300, AlertStatus.resolved),
            Planned(None, Severity.low, 600),
        ],
    )
    await create(settings, "ana@example.org", "admin", staff=dana)
    async with signed_in(engine, clock, "ana@example.org") as web:
        assert await listed(web) == [late, recent, high, seen, low]
        assert await listed(web, "?status=open") == [late, recent, high, low]
        assert await listed(web, "?status=acknowledged") == [seen]
        assert await listed(web, "?status=resolved") == [done]
        assert await listed(web, "?status=all") == [late, recent, high, seen, low, done]
        assert await listed(web, "?severity=critical&status=all") == [late, recent, done]
        assert await listed(web, "?kind=self_harm") == [late]
        assert await listed(web, "?mine=1") == [recent, high]
        assert await listed(web, f"?assigned={lee}&status=all") == [late, seen]
        assert await listed(web, "?status=nonsense&severity=worst") == [
            late,
            recent,
            high,
            seen,
            low,
        ]

        page = (await web.get("/console/alerts", headers=HTML)).text
        assert 'id="alerts"' in page
        assert "1\N{EN DASH}5 of 5 alerts" in page
        overdue = row_of(page, late)
        assert '<span class="badge sev-critical">critical</span>' in overdue
        assert '<a href="/console/clients/' in overdue and "P0001</a> Person1" in overdue
        assert f'<a href="/console/alerts/{late}">self harm</a>' in overdue
        assert '<td data-label="Assigned to">Lee</td>' in overdue
        assert ">20 min</time>" in overdue
        assert 'class="late">step 1 of 2 (the supervisors) overdue by 15 min' in overdue
        assert "step 1 of 2 (the supervisors) in 3 min" in row_of(page, recent)
        assert "acknowledged after 2 min" in row_of(page, seen)
        assert "does not escalate" in row_of(page, low)
        assert "nobody" in row_of(page, low)


async def test_a_coordinator_sees_and_acts_on_their_own_clients_alerts_only(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    dana, lee = await staff(sessions, "Dana", "Lee")
    mine, theirs = await plant(
        sessions, [Planned(dana, Severity.high, 10), Planned(lee, Severity.critical, 5)]
    )
    await create(settings, "dana@example.org", "coordinator", staff=dana)
    await create(settings, "nolink@example.org", "coordinator")
    async with signed_in(engine, clock, "dana@example.org") as web:
        assert await listed(web, "?status=all") == [mine]
        hidden = await web.get(f"/console/alerts/{theirs}", headers=HTML)
        assert hidden.status_code == 404
        assert "No such alert" in hidden.text
        for action in ("acknowledge", "callback", "resolve", "note", "reassign"):
            refused = await post(
                web, f"/console/alerts/{theirs}/{action}", {"note": "x", "staff": str(dana)}
            )
            assert refused.status_code == 404, action
        assert (await web.get("/console/alerts/999999", headers=HTML)).status_code == 404
        assert (await web.get("/console/alerts/99999999999", headers=HTML)).status_code == 422
        done = await post(web, f"/console/alerts/{mine}/acknowledge")
        assert done.status_code == 303
    async with signed_in(engine, clock, "nolink@example.org") as web:
        assert await listed(web, "?status=all") == []
    async with sessions() as session:
        other = await session.get(Alert, theirs)
        assert other is not None
        assert other.status == AlertStatus.open
        events = await session.scalars(
            sa.select(col(AlertEvent.kind)).where(col(AlertEvent.alert_id) == theirs)
        )
        assert list(events) == []
    # Nothing of the other coordinator's alert was shown, so no view is in the log.
    assert await audit_log(sessions) == [("console.alert.acknowledged", str(mine))]

    # Handed to Dana (reassigned), the other client's alert is hers to see and act on.
    async with sessions() as session:
        await session.execute(
            sa.update(Alert).where(col(Alert.id) == theirs).values(assigned_staff_id=dana)
        )
        await session.commit()
    async with signed_in(engine, clock, "dana@example.org") as web:
        assert sorted(await listed(web, "?status=all")) == sorted([mine, theirs])
        assert (await web.get(f"/console/alerts/{theirs}", headers=HTML)).status_code == 200
        assert (await post(web, f"/console/alerts/{theirs}/acknowledge")).status_code == 303

        # Resolved, it is no longer hers: it goes back to being only the client's coordinator's
        # (a client handed over takes their unresolved alerts to the new coordinator).
        resolved = await post(web, f"/console/alerts/{theirs}/resolve")
        assert resolved.headers["location"] == "/console/alerts?said=resolved"
        inbox = await web.get(resolved.headers["location"], headers=HTML)
        assert '<p id="alerts-notice" class="notice" role="status">Resolved.' in inbox.text
        assert await listed(web, "?status=all") == [mine]
        assert (await web.get(f"/console/alerts/{theirs}", headers=HTML)).status_code == 404
        for action in ("acknowledge", "note", "reassign"):
            refused = await post(web, f"/console/alerts/{theirs}/{action}", {"note": "x"})
            assert refused.status_code == 404, action
    async with sessions() as session:
        other = await session.get(Alert, theirs)
    assert other is not None
    assert (other.status, other.assigned_staff_id, other.resolved_by) == (
        AlertStatus.resolved,
        dana,
        dana,
    )


async def test_a_resolved_alert_assigned_to_someone_else_is_not_theirs_to_see(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Access by assignment holds only while the alert is unresolved: the client's coordinator
    sees all of their client's alerts, the assignee only the unresolved ones."""
    dana, lee = await staff(sessions, "Dana", "Lee")
    done, waiting = await plant(
        sessions,
        [
            Planned(lee, Severity.high, 30, AlertStatus.resolved),
            Planned(lee, Severity.high, 20, AlertStatus.acknowledged),
        ],
    )
    async with sessions() as session:
        await session.execute(
            sa.update(Alert)
            .where(col(Alert.id).in_([done, waiting]))
            .values(assigned_staff_id=dana)
        )
        await session.commit()
    await create(settings, "dana@example.org", "coordinator", staff=dana)
    await create(settings, "lee@example.org", "coordinator", staff=lee)
    async with signed_in(engine, clock, "dana@example.org") as web:
        assert await listed(web, "?status=all") == [waiting]
        assert await listed(web, f"?assigned={dana}&status=resolved") == []
        assert (await web.get(f"/console/alerts/{done}", headers=HTML)).status_code == 404
        assert (await web.get(f"/console/alerts/{waiting}", headers=HTML)).status_code == 200
        note = await post(web, f"/console/alerts/{done}/note", {"note": "x"})
        assert note.status_code == 404
    async with signed_in(engine, clock, "lee@example.org") as web:
        assert await listed(web, "?status=all") == [waiting, done]
        assert (await web.get(f"/console/alerts/{done}", headers=HTML)).status_code == 200


@pytest.mark.parametrize(
    "typed",
    [
        "\N{SUPERSCRIPT TWO}",
        "\N{ARABIC-INDIC DIGIT THREE}",
        "99999999999",
        "-1",
        "0",
        "1.5",
        " ",
        "x",
    ],
)
async def test_numbers_that_are_not_ids_are_no_filter_page_or_staff(
    typed: str,
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Whatever is typed where a number goes, the answer is the default or a 4xx, never a 500."""
    dana, lee = await staff(sessions, "Dana", "Lee")
    mine, theirs = await plant(
        sessions, [Planned(dana, Severity.high, 10), Planned(lee, Severity.low, 5)]
    )
    await create(settings, "ana@example.org", "admin", staff=dana)
    query = urlencode({"page": typed})
    async with signed_in(engine, clock, "ana@example.org") as web:
        assert await listed(web, f"?{query}") == [mine, theirs]  # the first page
        assert await listed(web, f"?{urlencode({'assigned': typed})}") == [mine, theirs]
        assert await listed(web, f"?{urlencode({'page': typed, 'assigned': typed})}") == [
            mine,
            theirs,
        ]
        moved = await post(web, f"/console/alerts/{mine}/reassign", {"staff": typed})
        assert moved.headers["location"].endswith("?said=no_such_staff")
        path = f"/console/alerts/{quote(typed)}"
        assert (await web.get(path, headers=HTML)).status_code in {404, 422}
        refused = await post(web, f"{path}/acknowledge")
        assert refused.status_code in {404, 405, 422}
    async with sessions() as session:
        stored = await session.get(Alert, mine)
    assert stored is not None and (stored.status, stored.assigned_staff_id) == (
        AlertStatus.open,
        dana,
    )


@pytest.fixture
def team_services(services: Services) -> Services:
    return with_settings(services, alert_chat_id=TEAM_CHAT)


async def alert_in_telegram(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    messaging: Messaging,
    now: datetime,
) -> tuple[Team, int, JSON, JSON]:
    """Within a running service: the team, a critical alert for Dana's client, and its messages
    to Dana and the team chat, delivered (so that acting on it edits them)."""
    team = await make_team(telegram, sessions)
    client = await new_client(sessions, "ACK234", team.coordinator)
    async with sessions() as session:
        stored = await session.get(Client, client.id)
        assert stored is not None
        alert = await raise_alert(
            session, stored, SignalKind.self_harm, Severity.critical, now=now, messaging=messaging
        )
        await session.commit()
    alert_id = alert.id or 0
    to_coordinator = await latest(telegram, COORDINATOR)
    to_team = await latest(telegram, TEAM_CHAT)

    async def delivered() -> int:
        return [e.kind for e in await history(sessions, alert_id)].count("delivered")

    await eventually(delivered, 2)
    await create(services.settings, "dana@example.org", "coordinator", staff=team.coordinator)
    return team, alert_id, to_coordinator, to_team


async def test_acknowledging_in_the_console_is_pressing_the_button_in_telegram(
    team_services: Services,
    telegram: SandboxClient,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    messaging = messaging_for(team_services.settings)
    clock = Clock()
    clock.now = utcnow().replace(microsecond=0)  # the worker's escalation tick is on real time
    config = ConsoleConfig(clock=clock, messaging=messaging)
    async with service_running(team_services, ("worker",)):  # the sender delivers and edits
        team, alert_id, to_coordinator, to_team = await alert_in_telegram(
            team_services, telegram, sessions, messaging, clock.now
        )
        async with signed_in(engine, clock, "dana@example.org", config=config) as web:
            page = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
            assert '<strong id="alert-status">open</strong>' in page.text
            assert ">Acknowledge</button>" in page.text
            clock.advance(minutes=2)
            done = await post(web, f"/console/alerts/{alert_id}/acknowledge")
            assert done.status_code == 303
            assert done.headers["location"] == f"/console/alerts/{alert_id}?said=acknowledged"
            page = await web.get(done.headers["location"], headers=HTML)
            assert "Acknowledged. Thank you." in page.text
            assert '<strong id="alert-status">acknowledged</strong>' in page.text
            assert ">Acknowledge</button>" not in page.text and ">Resolve</button>" in page.text
            assert "acknowledged after 2 min" in page.text
            when = clock.now.astimezone(messaging.alerts.zone).strftime("%H:%M")
            line = f"Acknowledged by Dana, {when}"
            await eventually(
                lambda: shown(telegram, to_coordinator, to_team), [(line, [["Resolve"]])] * 2
            )

            again = await post(web, f"/console/alerts/{alert_id}/acknowledge")
            assert again.headers["location"] == f"/console/alerts/{alert_id}?said=already"
            page = await web.get(again.headers["location"], headers=HTML)
            assert f"Already taken care of: {line}." in page.text
            again = await post(web, f"/console/alerts/{alert_id}/callback")
            assert again.headers["location"].endswith("?said=already")

            resolved = await post(web, f"/console/alerts/{alert_id}/resolve")
            assert resolved.headers["location"].endswith("?said=resolved")
            page = await web.get(resolved.headers["location"], headers=HTML)
            assert "Resolved. Thank you." in page.text
            assert '<strong id="alert-status">resolved</strong>' in page.text
            assert ">Resolve</button>" not in page.text
            assert "Acknowledged by Dana (in the console)" in page.text
            gone: Shown = [(f"Resolved by Dana, {when}", [])] * 2
            await eventually(lambda: shown(telegram, to_coordinator, to_team), gone)
        await drained(sessions)
    [stored] = await alerts(sessions)
    assert (stored.status, stored.acknowledged_by, stored.resolved_by) == (
        AlertStatus.resolved,
        team.coordinator,
        team.coordinator,
    )
    assert stored.next_escalation_at is None  # the ladder stopped, as after a button
    async with sessions() as session:
        user_id = await session.scalar(sa.select(col(ConsoleUser.id)))
    acted = [
        (e.kind, e.staff, e.detail)
        for e in await history(sessions, alert_id)
        if e.kind in {"acknowledged", "callback_requested", "resolved"}
    ]
    via = {"via": "console", "console_user_id": user_id}
    assert acted == [("acknowledged", team.coordinator, via), ("resolved", team.coordinator, via)]
    actions = [action for action, _ in await audit_log(sessions)]
    assert actions.count("console.alert.acknowledged") == 1
    assert actions.count("console.alert.resolved") == 1
    assert "console.alert.callback_requested" not in actions


async def test_a_note_is_kept_in_the_alerts_history_and_never_in_the_audit_log(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [sam] = await staff(sessions, "Sam", role=StaffRole.supervisor)
    [alert_id] = await plant(sessions, [Planned(None, Severity.high, 30)])
    await create(settings, "sam@example.org", "admin", staff=sam)
    note = f"Called her sister {SCRIPT}; try again at 5"
    async with signed_in(engine, clock, "sam@example.org") as web:
        page = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert '<label for="note">Note</label>' in page.text
        empty = await post(web, f"/console/alerts/{alert_id}/note", {"note": "  "})
        assert empty.headers["location"].endswith("?said=empty_note")
        page = await web.get(empty.headers["location"], headers=HTML)
        assert "Write the note first: nothing was added." in page.text
        noted = await post(web, f"/console/alerts/{alert_id}/note", {"note": note})
        page = await web.get(noted.headers["location"], headers=HTML)
    assert "Note added." in page.text
    assert "Note by Sam (in the console)" in page.text
    assert note.replace(SCRIPT, ESCAPED) in page.text and SCRIPT not in page.text
    [event] = await history(sessions, alert_id)
    assert (event.kind, event.staff, event.detail["text"]) == ("note", sam, note)
    assert event.detail["via"] == "console"
    assert [action for action, _ in await audit_log(sessions)] == [
        "console.client_messages.viewed",
        "console.client_messages.viewed",
        "console.alert.note_added",
        "console.client_messages.viewed",
    ]
    async with sessions() as session:
        written = repr((await session.scalars(sa.select(col(AuditEntry.detail)))).all())
    assert "sister" not in written  # the note's words stay in the alert's history


async def test_reassigning_tells_the_new_assignee_until_the_alert_is_resolved(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [sam] = await staff(sessions, "Sam", role=StaffRole.supervisor)
    [dana] = await staff(sessions, "Dana")
    [noor] = await staff(sessions, "Noor", telegram_chat_id=999, telegram_user_id=999)
    [gone] = await staff(sessions, "Old", active=False)
    [alert_id] = await plant(sessions, [Planned(dana, Severity.high, 30)])
    config = ConsoleConfig(clock=clock, messaging=messaging_for(settings))
    await create(settings, "sam@example.org", "admin", staff=sam)
    async with signed_in(engine, clock, "sam@example.org", config=config) as web:
        page = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert '<label for="reassign-staff">Assign to</label>' in page.text
        assert f'<option value="{noor}">Noor (coordinator)</option>' in page.text
        assert f'<option value="{dana}" selected>Dana (coordinator), not in' in page.text
        assert f'value="{gone}"' not in page.text  # only active staff

        moved = await post(web, f"/console/alerts/{alert_id}/reassign", {"staff": str(noor)})
        page = await web.get(moved.headers["location"], headers=HTML)
        assert "Reassigned to Noor." in page.text
        assert '<dd id="alert-assigned">Noor</dd>' in page.text
        assert "Reassigned from Dana to Noor by Sam (in the console)" in page.text
        assert "sent in Telegram to Noor (assignee)" in page.text
        for chosen, said in [
            (str(noor), "unchanged"),
            (str(gone), "no_such_staff"),
            ("x", "no_such_staff"),
        ]:
            again = await post(web, f"/console/alerts/{alert_id}/reassign", {"staff": chosen})
            assert again.headers["location"].endswith(f"?said={said}")

        resolved = await post(web, f"/console/alerts/{alert_id}/resolve")
        assert resolved.headers["location"].endswith("?said=resolved")
        late = await post(web, f"/console/alerts/{alert_id}/reassign", {"staff": str(dana)})
        assert late.headers["location"].endswith("?said=resolved_stays")
        page = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert ">Reassign</button>" not in page.text and ">Add note</button>" in page.text
    [alert] = await alerts(sessions)
    assert (alert.status, alert.assigned_staff_id, alert.resolved_by) == (
        AlertStatus.resolved,
        noor,
        sam,
    )
    events = await history(sessions, alert_id)
    assert [(e.kind, e.staff) for e in events] == [
        ("reassigned", sam),
        ("notified", noor),
        ("resolved", sam),
    ]
    assert (events[0].detail["from"], events[0].detail["to"]) == (dana, noor)
    assert events[1].detail["to"] == "assignee"
    async with sessions() as session:
        told = (
            await session.scalars(sa.select(OutboxMessage).where(col(OutboxMessage.chat_id) == 999))
        ).all()
    assert len(told) == 1 and f"/console/alerts/{alert_id}" in told[0].payload["text"]
    assert told[0].payload["reply_markup"]["inline_keyboard"][0][0]["text"] == "Acknowledge"
    assert [action for action, _ in await audit_log(sessions) if "alert." in action] == [
        "console.alert.reassigned",
        "console.alert.resolved",
    ]


async def test_viewers_and_admins_without_a_staff_member_cannot_act(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [dana] = await staff(sessions, "Dana")
    [alert_id] = await plant(sessions, [Planned(dana, Severity.critical, 1)])
    await create(settings, "val@example.org", "viewer")
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "val@example.org") as web:
        page = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert page.status_code == 200
        assert '<form method="post" action="/console/alerts' not in page.text
        assert ">Acknowledge</button>" not in page.text and "Add note" not in page.text
        for action in ("acknowledge", "resolve", "note", "reassign"):
            refused = await post(web, f"/console/alerts/{alert_id}/{action}", {"note": "x"})
            assert refused.status_code == 403, action
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = await web.get(f"/console/alerts/{alert_id}", headers=HTML)
        assert 'id="no-staff"' in page.text and "not linked to an active one" in page.text
        assert ">Acknowledge</button>" not in page.text
        refused = await post(web, f"/console/alerts/{alert_id}/acknowledge")
        assert refused.status_code == 403
        assert "not linked to an active one" in refused.text
        forged = await web.post(f"/console/alerts/{alert_id}/acknowledge", data={"csrf_token": "x"})
        assert forged.status_code == 403
        assert "did not come from the console" in forged.text
        bare = await web.post(f"/console/alerts/{alert_id}/resolve")
        assert bare.status_code == 403
    async with sessions() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None and alert.status == AlertStatus.open
    assert [kind for kind in await history(sessions, alert_id)] == []


async def test_the_clients_words_and_evidence_are_shown_escaped_and_audited(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        client = Client(code="ESC234", first_name=SCRIPT[:80], timezone="UTC")
        session.add(client)
        await session.flush()
        message = InboundMessage(
            update_id=1, client_id=client.id, kind=InboundKind.text, text=f"i drank {SCRIPT}"
        )
        session.add(message)
        await session.flush()
        signal = Signal(
            client_id=client.id or 0,
            inbound_message_id=message.id,
            kind=SignalKind.relapse,
            severity=Severity.high,
            evidence={"words": SCRIPT},
        )
        session.add(signal)
        await session.flush()
        alert = Alert(
            client_id=client.id or 0,
            kind=SignalKind.relapse,
            severity=Severity.high,
            summary=f"reported use {SCRIPT}",
            opened_at=START - timedelta(minutes=3),
        )
        session.add(alert)
        await session.flush()
        session.add(
            AlertEvent(
                alert_id=alert.id or 0,
                kind=AlertEventKind.opened,
                signal_id=signal.id,
                detail={"kind": "relapse", "severity": "high"},
                created_at=alert.opened_at,
            )
        )
        await session.commit()
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        inbox = await web.get("/console/alerts", headers=HTML)
        page = await web.get(f"/console/alerts/{alert.id}", headers=HTML)
    for text in (inbox.text, page.text):
        assert SCRIPT not in text
        assert ESCAPED in text
    assert "i drank" not in inbox.text  # the client's words are on the alert's page only
    assert f'message">i drank {ESCAPED}</blockquote>' in page.text
    assert f"<mark>{ESCAPED}</mark>" in page.text
    assert "Opened: reported use, high" in page.text
    async with sessions() as session:
        entry = await session.scalar(
            sa.select(AuditEntry).where(col(AuditEntry.action) == "console.client_messages.viewed")
        )
    assert entry is not None
    assert (entry.subject_type, entry.subject_id) == ("client", str(client.id))
    assert entry.detail == {"alert_id": alert.id, "messages": 1}


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` within the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_the_inbox_stays_fast_with_ten_thousand_clients(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [dana] = await staff(sessions, "Dana")
    opened = START - timedelta(days=1)
    async with sessions() as session:
        await session.execute(
            sa.insert(Client),
            [
                {
                    "code": f"K{n}",
                    "first_name": "Kai",
                    "timezone": "UTC",
                    "state": ClientState.active,
                    "coordinator_id": dana if n % 10 == 0 else None,
                }
                for n in range(1, 10_001)
            ],
        )
        # two alerts a client: one resolved long ago, and one in four still open
        await session.execute(
            sa.text(
                "INSERT INTO alerts (client_id, kind, severity, status, summary, opened_at, "
                "escalation_level, assigned_staff_id) "
                "SELECT c.id, 'craving', (ARRAY['critical','high','medium','low'])[1 + c.id % 4], "
                "CASE WHEN r = 1 OR c.id % 4 <> 0 THEN 'resolved' ELSE 'open' END, "
                "'strong craving', CAST(:opened AS timestamptz) - c.id * interval '1 minute', "
                "0, c.coordinator_id "
                "FROM clients c, generate_series(1, 2) AS r"
            ),
            {"opened": opened},
        )
        for table in ("clients", "alerts"):
            await session.execute(sa.text(f"ANALYZE {table}"))
        await session.commit()
    await create(settings, "ana@example.org", "admin")
    await create(settings, "dana@example.org", "coordinator", staff=dana)
    async with signed_in(engine, clock, "ana@example.org") as web:
        await web.get("/console/alerts", headers=HTML)  # warm
        with statements(engine) as seen:
            began = time.perf_counter()
            page = await web.get("/console/alerts?page=3", headers=HTML)
            took = time.perf_counter() - began
        assert page.status_code == 200
        assert "101\N{EN DASH}150 of 2500 alerts" in page.text and "Page 3 of 50" in page.text
        assert len([s for s in seen if "FROM alerts" in s]) == 2  # the count and the page
        assert took < 1.0, took
        ids = [int(found) for found in ROW.findall(page.text)]
        assert len(ids) == 50
        everything = await web.get("/console/alerts?status=all&page=400", headers=HTML)
        assert "Page 400 of 400" in everything.text
    async with signed_in(engine, clock, "dana@example.org") as web:
        began = time.perf_counter()
        page = await web.get("/console/alerts?status=all", headers=HTML)
        assert time.perf_counter() - began < 1.0
        assert "1\N{EN DASH}50 of 2000 alerts" in page.text
