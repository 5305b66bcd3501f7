"""The console's team page, over HTTP against the real app and database: the staff with their
open alerts, the on-call rota and the ladder it feeds (toggled here, used by the escalation
tick), roles and active, the alert chat, staff invite links, who may change what, and the audit
log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.escalation import Escalator
from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.alerts.routing import AlertRouting
from service.alerts.service import raise_alert
from service.audit.models import AuditEntry
from service.clients.invites import redeem_invite
from service.clients.models import Client
from service.config import Settings
from service.content.service import Messaging
from service.runtime import messaging_for
from service.signals.models import Severity, SignalKind
from service.staff.models import StaffMember, StaffRole
from service.web.console import ConsoleConfig
from tests.console import HTML, Clock, create, post, signed_in

OPENED = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


async def staff(sessions: async_sessionmaker[AsyncSession], name: str, **extra: Any) -> int:
    async with sessions() as session:
        member = StaffMember(name=name, **extra)
        session.add(member)
        await session.commit()
    return member.id or 0


async def member(sessions: async_sessionmaker[AsyncSession], staff_id: int) -> StaffMember:
    async with sessions() as session:
        found = await session.get(StaffMember, staff_id)
    assert found is not None
    return found


async def console_actions(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(col(AuditEntry.action), col(AuditEntry.detail))
            .where(col(AuditEntry.action).like("console.staff.%"))
            .order_by(col(AuditEntry.id))
        )
        return [(action, detail) for action, detail in rows]


def row(page: str, staff_id: int) -> str:
    start = page.index(f'<tr id="staff-{staff_id}">')
    return page[start : page.index("</tr>", start)]


async def test_the_team_page_shows_staff_rota_ladder_and_alert_chat_read_only_to_others(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    dana = await staff(sessions, "Dana", telegram_chat_id=777, telegram_user_id=777)
    sam = await staff(
        sessions, "Sam", role=StaffRole.supervisor, telegram_chat_id=888, telegram_user_id=888
    )
    noor = await staff(sessions, "Noor", on_call=True)  # on call, but not in Telegram
    await staff(sessions, "Old", active=False)
    async with sessions() as session:
        for number, status in enumerate(
            [AlertStatus.open, AlertStatus.acknowledged, AlertStatus.resolved]
        ):
            client = Client(
                code=f"T{number:04d}", first_name="Kai", timezone="UTC", coordinator_id=dana
            )
            session.add(client)
            await session.flush()
            session.add(
                Alert(
                    client_id=client.id or 0,
                    kind=SignalKind.craving,
                    severity=Severity.high,
                    status=status,
                    assigned_staff_id=dana,
                )
            )
        await session.commit()
    routing = AlertRouting(team_chat_id=-100777)
    config = ConsoleConfig(clock=clock, messaging=Messaging(alerts=routing))
    await create(settings, "dana@example.org", "coordinator", staff=dana)
    async with signed_in(engine, clock, "dana@example.org", config=config) as web:
        page = (await web.get("/console/team", headers=HTML)).text
    assert 'id="staff"' in page
    assert '<th scope="row">Dana</th>' in row(page, dana)
    assert '<td data-label="Telegram">linked</td>' in row(page, dana)
    assert f'<a href="/console/alerts?assigned={dana}">2<span' in row(page, dana)  # not resolved
    assert "supervisor" in row(page, sam) and "not linked" in row(page, noor)
    assert page.index("Noor") < page.index("Old")  # active staff first
    assert 'Noor <span class="warn">(not linked to Telegram: not told)</span>' in page
    assert "<td>after 5m</td><td>the supervisors</td>\n      <td>Sam</td>" in page
    assert "<td>after 15m</td><td>whoever is on call</td>" in page
    assert '<span class="warn">nobody</span>' in page  # Noor is on call, but cannot be told
    assert "Telegram chat <code>-100777</code> hears of every alert." in page
    for control in ("Put on call", "Change role", "Deactivate", "Create invite link"):
        assert control not in page  # a coordinator looks only
    async with signed_in(engine, clock, "dana@example.org") as web:
        page = (await web.get("/console/team", headers=HTML)).text
        assert 'id="alert-chat">Not set' in page
        refused = await post(web, f"/console/team/{noor}/on-call", {"on_call": "off"})
        assert refused.status_code == 403
    assert (await member(sessions, noor)).on_call


async def test_the_open_alerts_counted_are_those_the_inbox_they_link_to_lists(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A coordinator's counts are of the alerts they may see, as the inbox lists them: their
    clients' and, while unresolved, those handed to them."""
    dana = await staff(sessions, "Dana")
    lee = await staff(sessions, "Lee")
    async with sessions() as session:
        for number, (coordinator, assigned, status) in enumerate(
            [
                (dana, dana, AlertStatus.open),  # her client's
                (dana, lee, AlertStatus.open),  # her client's, handed to Lee
                (lee, dana, AlertStatus.acknowledged),  # Lee's client's, handed to her
                (lee, dana, AlertStatus.resolved),  # resolved: no longer hers
                (lee, lee, AlertStatus.open),  # Lee's own: not hers to see
            ]
        ):
            client = Client(
                code=f"C{number:04d}", first_name="Kai", timezone="UTC", coordinator_id=coordinator
            )
            session.add(client)
            await session.flush()
            session.add(
                Alert(
                    client_id=client.id or 0,
                    kind=SignalKind.craving,
                    severity=Severity.high,
                    status=status,
                    assigned_staff_id=assigned,
                )
            )
        await session.commit()
    await create(settings, "dana@example.org", "coordinator", staff=dana)
    async with signed_in(engine, clock, "dana@example.org") as web:
        page = (await web.get("/console/team", headers=HTML)).text
        for member, count in ((dana, 2), (lee, 1)):
            assert f'<a href="/console/alerts?assigned={member}">{count}<span' in row(page, member)
            inbox = await web.get(f"/console/alerts?assigned={member}", headers=HTML)
            assert inbox.text.count('<tr id="alert-') == count


@pytest.mark.parametrize(
    "typed", ["\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT THREE}", "99999999999", "-1", "0", "x"]
)
async def test_numbers_that_are_not_staff_ids_are_no_one(
    typed: str,
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Whatever is typed where a staff id goes, the answer is the page or a 4xx, never a 500."""
    lee = await staff(sessions, "Lee")
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = await web.get(f"/console/team?{urlencode({'said': 'on_call', 'staff': typed})}")
        assert page.status_code == 200
        assert "Lee is on call" not in page.text and f'id="staff-{lee}"' in page.text
        changed = await post(web, f"/console/team/{quote(typed)}/on-call", {"on_call": "on"})
        assert changed.status_code in {404, 405, 422}
    assert not (await member(sessions, lee)).on_call


async def critical_alert(
    sessions: async_sessionmaker[AsyncSession], messaging: Messaging, code: str
) -> int:
    async with sessions() as session:
        client = Client(code=code, first_name="Kai", timezone="UTC")
        session.add(client)
        await session.flush()
        alert = await raise_alert(
            session,
            client,
            SignalKind.self_harm,
            Severity.critical,
            now=OPENED,
            messaging=messaging,
        )
        await session.commit()
    return alert.id or 0


async def told_on_call(
    sessions: async_sessionmaker[AsyncSession], alert_id: int
) -> list[int | None]:
    """Whom the ladder's on-call step of the alert told (None: nobody)."""
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(AlertEvent).where(
                col(AlertEvent.alert_id) == alert_id,
                col(AlertEvent.kind) == AlertEventKind.escalated,
            )
        )
        return [e.staff_member_id for e in rows if e.detail["to"] == "on_call"]


async def test_the_on_call_rota_set_in_the_console_is_what_the_ladder_uses(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    noor = await staff(sessions, "Noor", telegram_chat_id=999, telegram_user_id=999)
    await create(settings, "ana@example.org", "admin")
    messaging = messaging_for(settings)
    escalator = Escalator(sessions, messaging, clock=lambda: OPENED + timedelta(minutes=15))
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = (await web.get("/console/team", headers=HTML)).text
        assert f'<span id="on-call-{noor}">off</span>' in page
        on = await post(web, f"/console/team/{noor}/on-call", {"on_call": "on"})
        assert on.status_code == 303
        assert on.headers["location"] == f"/console/team?said=on_call&staff={noor}#staff-{noor}"
        page = (await web.get(on.headers["location"], headers=HTML)).text
        assert "Noor is on call: the on-call steps of the ladder tell them." in page
        assert f'<span id="on-call-{noor}">on call</span>' in page
        assert "<td>after 15m</td><td>whoever is on call</td>\n      <td>Noor</td>" in page
        first = await critical_alert(sessions, messaging, "ONC234")
        assert await escalator.escalate() == 2  # the supervisors (none), then on call
        assert await told_on_call(sessions, first) == [noor]

        again = await post(web, f"/console/team/{noor}/on-call", {"on_call": "on"})
        assert again.headers["location"].startswith("/console/team?said=unchanged")
        off = await post(web, f"/console/team/{noor}/on-call", {"on_call": "off"})
        assert off.headers["location"].startswith("/console/team?said=off_call")
        second = await critical_alert(sessions, messaging, "ONC345")
        assert await escalator.escalate() == 2
        assert await told_on_call(sessions, second) == [None]  # "told nobody"
    assert not (await member(sessions, noor)).on_call
    assert [action for action, _ in await console_actions(sessions)] == [
        "console.staff.on_call",
        "console.staff.off_call",
    ]


async def test_admins_change_a_members_role_and_whether_they_are_active(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    lee = await staff(sessions, "Lee", telegram_chat_id=555, telegram_user_id=555)
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = (await web.get("/console/team", headers=HTML)).text
        assert f'<label for="role-{lee}" class="visually-hidden">Role of Lee</label>' in page
        promoted = await post(web, f"/console/team/{lee}/role", {"role": "supervisor"})
        page = (await web.get(promoted.headers["location"], headers=HTML)).text
        assert "Lee is now supervisor." in page
        assert "<td>after 5m</td><td>the supervisors</td>\n      <td>Lee</td>" in page
        refused = await post(web, f"/console/team/{lee}/role", {"role": "king"})
        assert refused.status_code == 400
        assert "Choose coordinator, supervisor or admin" in refused.text
        gone = await post(web, f"/console/team/{lee}/active", {"active": "off"})
        page = (await web.get(gone.headers["location"], headers=HTML)).text
        assert "Lee is inactive: they hear of no alerts and cannot act on them." in page
        assert (
            '<td>after 5m</td><td>the supervisors</td>\n      <td><span class="warn">nobody' in page
        )
        back = await post(web, f"/console/team/{lee}/active", {"active": "on"})
        assert back.headers["location"].startswith("/console/team?said=activated")
        assert (await post(web, "/console/team/424242/active", {"active": "on"})).status_code == 404
        forged = await web.post(f"/console/team/{lee}/active", data={"active": "off"})
        assert forged.status_code == 403
    found = await member(sessions, lee)
    assert (found.role, found.active) == (StaffRole.supervisor, True)
    assert await console_actions(sessions) == [
        ("console.staff.role", {"from": "coordinator", "to": "supervisor"}),
        ("console.staff.deactivated", {}),
        ("console.staff.activated", {}),
    ]


async def test_an_admin_makes_a_staff_invite_link_shown_once(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, "ana@example.org", "admin")
    await create(settings, "val@example.org", "viewer")

    async def username() -> str:
        return "care_bot"

    config = ConsoleConfig(clock=clock, bot_username=username, invite_ttl=timedelta(days=3))
    async with signed_in(engine, clock, "ana@example.org", config=config) as web:
        made = await post(
            web, "/console/team/invite", {"name": "  Rosa   Diaz ", "role": "supervisor"}
        )
        assert made.status_code == 200
        assert "Invite for Rosa Diaz (supervisor)" in made.text
        link = made.text.split('id="invite-link" href="')[1].split('"')[0]
        assert link.startswith("https://t.me/care_bot?start=")
        assert "expires 2026-11-29 09:00 UTC" in made.text
        assert link not in (await web.get("/console/team", headers=HTML)).text  # once
        nameless = await post(web, "/console/team/invite", {"name": " ", "role": "admin"})
        assert nameless.status_code == 400
        assert "Name the new member (at most 120 characters)" in nameless.text
    async with signed_in(engine, clock, "val@example.org", config=config) as web:
        refused = await post(web, "/console/team/invite", {"name": "Eve", "role": "admin"})
        assert refused.status_code == 403
    async with sessions() as session:
        [rosa] = (await session.scalars(sa.select(StaffMember))).all()
        redeemed = await redeem_invite(
            session,
            link.split("start=")[1],
            telegram_user_id=4321,
            chat_id=4321,
            now=clock.now + timedelta(days=1),
        )
        await session.commit()
    assert (rosa.name, rosa.role) == ("Rosa Diaz", StaffRole.supervisor)
    assert redeemed is not None
    assert (await member(sessions, rosa.id or 0)).telegram_chat_id == 4321
    async with sessions() as session:
        invited = (
            await session.scalars(
                sa.select(AuditEntry).where(col(AuditEntry.action) == "invite.created")
            )
        ).one()
    assert (invited.actor_kind, invited.subject_id) == ("console_user", str(rosa.id))
    assert invited.detail["role"] == "supervisor"
