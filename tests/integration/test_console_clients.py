"""The console's clients: the list, a client's page and preview, and acting on a client, used as
a browser would over HTTP against this test's database."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.audit.models import ActorKind, AuditEntry
from service.checkins.models import CadenceChange, Checkin, CheckinKind, CheckinStatus
from service.checkins.planner import Planner
from service.checkins.programs import standard_program_id
from service.clients.invites import IssuedInvite, invite_client, redeem_invite
from service.clients.models import CadenceMode, Client, ClientState
from service.config import Settings
from service.content.service import Messaging
from service.conversations.models import InboundKind, InboundMessage
from service.errors import InviteExpired
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.signals.models import Severity, Signal, SignalKind
from service.staff.models import StaffMember, StaffRole
from service.web.console import ConsoleConfig
from tests.console import HTML, START, Clock, create, post, signed_in

SCRIPT = "<script>alert(1)</script>"
ZONE = "America/Chicago"


class People:
    """Clients, staff and what happened between them, written straight to the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.updates = 0

    async def staff(self, name: str) -> int:
        async with self.sessions() as session:
            member = StaffMember(name=name, role=StaffRole.coordinator)
            session.add(member)
            await session.commit()
            assert member.id is not None
            return member.id

    async def invited(self, first_name: str, *, coordinator_id: int | None = None) -> IssuedInvite:
        """A client as `aftercare invite client` makes one, with the invite's token."""
        async with self.sessions() as session:
            issued = await invite_client(
                session,
                first_name=first_name,
                timezone=ZONE,
                language="en",
                ttl=timedelta(days=14),
                now=START,
                discharge_date=(START - timedelta(days=10)).date(),
                coordinator_id=coordinator_id,
            )
            await session.commit()
            return issued

    async def client(
        self,
        first_name: str,
        *,
        state: ClientState = ClientState.active,
        coordinator_id: int | None = None,
        **fields: object,
    ) -> Client:
        issued = await self.invited(first_name, coordinator_id=coordinator_id)
        async with self.sessions() as session:
            client = await session.get(Client, issued.subject_id)
            assert client is not None
            client.state = state
            if state is not ClientState.invited:
                self.updates += 1
                client.telegram_user_id = client.telegram_chat_id = 9000 + self.updates
            for name, value in fields.items():
                setattr(client, name, value)
            await session.commit()
            return client

    async def wrote(
        self,
        client: Client,
        text: str,
        ago: timedelta,
        kind: InboundKind = InboundKind.text,
    ) -> None:
        async with self.sessions() as session:
            self.updates += 1
            session.add(
                InboundMessage(
                    update_id=self.updates,
                    client_id=client.id,
                    chat_id=client.telegram_chat_id,
                    kind=kind,
                    text=text,
                    received_at=START - ago,
                )
            )
            await session.commit()

    async def alert(
        self,
        client: Client,
        severity: Severity,
        status: AlertStatus,
        *,
        assigned: int | None = None,
    ) -> int:
        assert client.id is not None
        async with self.sessions() as session:
            alert = Alert(
                client_id=client.id,
                kind=SignalKind.relapse,
                severity=severity,
                status=status,
                summary="relapse reported",
                assigned_staff_id=assigned,
            )
            session.add(alert)
            await session.commit()
            assert alert.id is not None
            return alert.id


async def current(sessions: async_sessionmaker[AsyncSession], client: Client) -> Client:
    async with sessions() as session:
        found = await session.get(Client, client.id)
    assert found is not None
    return found


async def audited(sessions: async_sessionmaker[AsyncSession], action: str) -> list[AuditEntry]:
    async with sessions() as session:
        return list(
            await session.scalars(sa.select(AuditEntry).where(col(AuditEntry.action) == action))
        )


def rows(page: str) -> list[int]:
    """The clients listed, in order."""
    return [int(found) for found in re.findall(r'<tr id="client-(\d+)"', page)]


async def test_the_list_searches_filters_sorts_and_pages(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    dana = await people.staff("Dana")
    ana = await people.client("Ana", coordinator_id=dana)
    ben = await people.client("Ben", state=ClientState.paused)
    cy = await people.client("Cy", state=ClientState.invited)
    eve = await people.client("Eve")
    await people.wrote(ana, "good week", timedelta(days=2))
    await people.wrote(ana, "older", timedelta(days=50))
    await people.wrote(ben, "hm", timedelta(days=20))
    await people.wrote(eve, "hello", timedelta(days=40))
    await people.wrote(eve, "", timedelta(hours=1), kind=InboundKind.membership)  # not a reply
    await people.alert(ana, Severity.high, AlertStatus.open)
    await people.alert(ben, Severity.medium, AlertStatus.acknowledged)
    await people.alert(cy, Severity.critical, AlertStatus.resolved)
    await create(settings, "ada@example.org", "admin")

    async with signed_in(engine, clock, "ada@example.org") as web:

        async def listed(query: str = "") -> list[int]:
            page = await web.get(f"/console/clients{query}", headers=HTML)
            assert page.status_code == 200
            assert 'id="clients"' in page.text and 'id="q"' in page.text
            return rows(page.text)

        everyone = sorted([ana, ben, cy, eve], key=lambda client: client.code)
        assert await listed() == [client.id for client in everyone]  # by code
        assert await listed("?q=aN") == [ana.id]  # first name, any case
        assert await listed(f"?q={cy.code.lower()}") == [cy.id]  # code, any case
        assert await listed("?q=%25") == []  # a wildcard is a character to find
        assert await listed("?state=paused") == [ben.id]
        assert await listed("?risk=high") == [ana.id]
        assert sorted(await listed("?risk=any")) == sorted([ana.id, ben.id])
        assert await listed("?risk=critical") == []  # resolved alerts are not a risk
        assert await listed("?replied=week") == [ana.id]
        assert await listed("?replied=month") == [ben.id]
        assert await listed("?replied=older") == [eve.id]
        assert await listed("?replied=never") == [cy.id]
        assert await listed(f"?coordinator={dana}") == [ana.id]
        assert sorted(await listed("?coordinator=none")) == sorted([ben.id, cy.id, eve.id])
        assert await listed("?sort=last_reply") == [ana.id, ben.id, eve.id, cy.id]
        assert await listed("?state=nonsense&risk=x&replied=y&page=z") != []  # lenient

        page = await web.get("/console/clients?risk=high", headers=HTML)
        assert 'class="badge sev-high"' in page.text and "Dana" in page.text

        async with sessions() as session:
            session.add_all(
                Client(code=f"Z{number:05d}", first_name="Zed", timezone=ZONE)
                for number in range(55)
            )
            await session.commit()
        first = await web.get("/console/clients?q=zed", headers=HTML)
        assert len(rows(first.text)) == 50 and "page 1 of 2" in first.text
        assert "/console/clients?q=zed&amp;page=2" in first.text
        second = await listed("?q=zed&page=2")
        assert len(second) == 5 and not set(second) & set(rows(first.text))


async def test_a_coordinator_sees_only_their_own_clients(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    dana, lee = await people.staff("Dana"), await people.staff("Lee")
    mine = await people.client("Ana", coordinator_id=dana)
    theirs = await people.client("Ben", coordinator_id=lee)
    await create(settings, "dana@example.org", "coordinator", staff=dana)

    async with signed_in(engine, clock, "dana@example.org") as web:
        listed = await web.get("/console/clients", headers=HTML)
        assert rows(listed.text) == [mine.id]
        assert (await web.get(f"/console/clients/{mine.id}", headers=HTML)).status_code == 200
        for path in (f"/console/clients/{theirs.id}", f"/console/clients/{theirs.id}/preview"):
            assert (await web.get(path, headers=HTML)).status_code == 404
        refused = await post(web, f"/console/clients/{theirs.id}/pause", {"days": "7"})
        assert refused.status_code == 404
        assert (await current(sessions, theirs)).state == ClientState.active

        # Handing a client over to a colleague: they are no longer this coordinator's to see.
        handed = await post(
            web, f"/console/clients/{mine.id}/coordinator", {"coordinator": str(lee)}
        )
        assert (handed.status_code, handed.headers["location"]) == (303, "/console/clients")
        assert (await current(sessions, mine)).coordinator_id == lee
        assert (await web.get(f"/console/clients/{mine.id}", headers=HTML)).status_code == 404
    [entry] = await audited(sessions, "client.coordinator_changed")
    assert entry.actor_kind == ActorKind.console_user
    assert entry.detail == {"was": dana, "now": lee}


async def test_the_client_page_shows_their_words_and_timeline_as_text_and_is_audited(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client(
        f"Al{SCRIPT}",
        values=["family", "health"],
        reasons={"family": f"for my kids {SCRIPT}", "own": "to wake up clear"},
    )
    assert client.id is not None
    await people.wrote(client, SCRIPT, timedelta(hours=3))
    async with sessions() as session:
        session.add(
            OutboxMessage(
                chat_id=client.telegram_chat_id or 0,
                client_id=client.id,
                payload={"text": "<b>How are you</b> doing today? &lt;3", "parse_mode": "HTML"},
                status=OutboxStatus.sent,
            )
        )
        session.add(
            Checkin(
                client_id=client.id,
                kind=CheckinKind.scale,
                status=CheckinStatus.answered,
                local_date=START.date(),
                scheduled_for=START,
                answers={"mood": 3},
            )
        )
        session.add(Signal(client_id=client.id, kind=SignalKind.craving, severity=Severity.high))
        await session.commit()
    await people.alert(client, Severity.high, AlertStatus.open)
    await create(settings, "ada@example.org", "admin")

    async with signed_in(engine, clock, "ada@example.org") as web:
        listed = await web.get("/console/clients", headers=HTML)
        page = await web.get(f"/console/clients/{client.id}", headers=HTML)
    assert page.status_code == 200
    for shown in (listed.text, page.text):
        assert "<script>alert" not in shown
        assert "Al&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "for my kids &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "to wake up clear" in page.text and "family" in page.text
    timeline = page.text[page.text.index('id="timeline"') :]
    assert timeline.count('class="event') == 5
    for kind in ("inbound", "outbound", "checkin", "signal", "alert"):
        assert f'class="event event-{kind}"' in timeline
    assert '<p class="words">&lt;script&gt;alert(1)&lt;/script&gt;</p>' in timeline
    assert "How are you doing today? &lt;3" in timeline and "mood 3" in timeline  # as read
    assert 'id="older"' not in page.text
    [viewed] = await audited(sessions, "console.client_messages.viewed")
    assert (viewed.actor_kind, viewed.subject_id) == (ActorKind.console_user, str(client.id))


async def test_the_timeline_shows_the_latest_hundred_and_older_ones_on_request(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client("Ana")
    async with sessions() as session:
        session.add_all(
            InboundMessage(
                update_id=100 + number,
                client_id=client.id,
                kind=InboundKind.text,
                text=f"message {number}",
                received_at=START - timedelta(minutes=number),
            )
            for number in range(130)
        )
        await session.commit()
    await create(settings, "ada@example.org", "admin")
    async with signed_in(engine, clock, "ada@example.org") as web:
        newest = await web.get(f"/console/clients/{client.id}", headers=HTML)
        assert newest.text.count('class="event ') == 100
        assert "message 0<" in newest.text and "message 100<" not in newest.text
        older = re.search(r'id="older" href="([^"]+)"', newest.text)
        assert older is not None
        rest = await web.get(older.group(1).replace("&amp;", "&"), headers=HTML)
    assert rest.text.count('class="event ') == 30
    assert "message 100<" in rest.text and "message 129<" in rest.text
    assert 'id="older"' not in rest.text
    assert len(await audited(sessions, "console.client_messages.viewed")) == 2


async def test_pause_and_resume_and_the_planner_follows(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client("Ana", next_checkin_at=START + timedelta(hours=5))
    async with sessions() as session:
        session.add(
            OutboxMessage(
                chat_id=client.telegram_chat_id or 0,
                client_id=client.id,
                lane=Lane.scheduled,
                payload={"text": "queued"},
            )
        )
        await session.commit()
    await create(settings, "ada@example.org", "admin")

    async with signed_in(engine, clock, "ada@example.org") as web:
        page = await web.get(f"/console/clients/{client.id}", headers=HTML)
        assert ">Pause</button>" in page.text and ">Resume</button>" not in page.text
        assert (
            await post(web, f"/console/clients/{client.id}/pause", {"days": "x"})
        ).status_code == 422
        paused = await post(web, f"/console/clients/{client.id}/pause", {"days": "14"})
        assert paused.status_code == 303
        assert paused.headers["location"] == f"/console/clients/{client.id}?done=paused"
        stored = await current(sessions, client)
        assert stored.state == ClientState.paused
        assert stored.paused_until == START + timedelta(days=14)
        assert stored.next_checkin_at is None
        async with sessions() as session:
            assert await session.scalar(sa.select(OutboxMessage.status)) == OutboxStatus.cancelled
        shown = await web.get(paused.headers["location"], headers=HTML)
        assert "Check-ins are paused." in shown.text and ">Resume</button>" in shown.text
        assert "2026-12-10 03:00 CST" in shown.text  # paused until, in the client's time

        resumed = await post(web, f"/console/clients/{client.id}/resume")
        assert resumed.status_code == 303
        stored = await current(sessions, client)
        assert (stored.state, stored.paused_until) == (ClientState.active, None)
        again = await post(web, f"/console/clients/{client.id}/resume")
        assert again.status_code == 409 and "Check-ins are not paused." in again.text

    await Planner(sessions, Messaging(), clock=clock).plan()
    planned = (await current(sessions, client)).next_checkin_at
    assert planned is not None  # the next touch is planned afresh, from tomorrow
    tomorrow = (START.astimezone(ZoneInfo(ZONE)) + timedelta(days=1)).date()
    assert planned.astimezone(ZoneInfo(ZONE)).date() == tomorrow
    for action in ("client.paused", "client.resumed"):
        [entry] = await audited(sessions, action)
        assert entry.actor_kind == ActorKind.console_user and entry.subject_id == str(client.id)


async def test_staff_never_resume_someone_who_said_stop(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client("Ana", state=ClientState.opted_out)
    await create(settings, "ada@example.org", "admin")
    async with signed_in(engine, clock, "ada@example.org") as web:
        page = await web.get(f"/console/clients/{client.id}", headers=HTML)
        assert ">Resume</button>" not in page.text and ">Pause</button>" not in page.text
        refused = await post(web, f"/console/clients/{client.id}/resume")
    assert refused.status_code == 409
    assert (await current(sessions, client)).state == ClientState.opted_out
    assert await audited(sessions, "client.resumed") == []


async def test_discharge_cadence_and_coordinator_changes(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    dana = await people.staff("Dana")
    client = await people.client("Ana", next_checkin_at=START + timedelta(hours=5))
    async with sessions() as session:
        standard = await standard_program_id(session)
    await create(settings, "ada@example.org", "admin")
    path = f"/console/clients/{client.id}"

    async with signed_in(engine, clock, "ada@example.org") as web:
        changed = await post(web, f"{path}/coordinator", {"coordinator": str(dana)})
        assert changed.status_code == 303
        assert (await current(sessions, client)).coordinator_id == dana

        form = {"program": str(standard), "mode": "intensive", "override": ""}
        assert (await post(web, f"{path}/cadence", form)).status_code == 303
        stored = await current(sessions, client)
        assert stored.cadence_mode == CadenceMode.intensive
        assert stored.cadence_mode_until == START.date() + timedelta(days=14)
        assert stored.next_checkin_at is None  # planned afresh by the new cadence
        form["override"] = '{"missed_for_signal": 2}'
        assert (await post(web, f"{path}/cadence", form)).status_code == 303
        assert (await current(sessions, client)).cadence_override == {"missed_for_signal": 2}
        for bad in ('{"follow_up_after_hours": 100}', "[1]", "{nope"):
            refused = await post(web, f"{path}/cadence", {**form, "override": bad})
            assert refused.status_code == 422 and "Nothing was changed" in refused.text
        assert (await current(sessions, client)).cadence_override == {"missed_for_signal": 2}

        unconfirmed = await post(web, f"{path}/discharge")
        assert unconfirmed.status_code == 422
        assert (await current(sessions, client)).state == ClientState.active
        discharged = await post(web, f"{path}/discharge", {"confirm": "yes"})
        assert discharged.status_code == 303
        page = await web.get(discharged.headers["location"], headers=HTML)
        assert "The client is discharged" in page.text and ">Discharge</button>" not in page.text
    stored = await current(sessions, client)
    assert (stored.state, stored.next_checkin_at) == (ClientState.opted_out, None)
    async with sessions() as session:
        change = await session.scalar(sa.select(CadenceChange))
        assert change is not None and (change.mode_from, change.mode_to) == ("normal", "intensive")
    for action in (
        "client.coordinator_changed",
        "client.cadence_mode_changed",
        "client.discharged",
    ):
        [entry] = await audited(sessions, action)
        assert entry.actor_kind == ActorKind.console_user
    [overridden] = await audited(sessions, "client.cadence_overridden")
    assert overridden.actor_kind == ActorKind.console_user
    # Unchanged fields were not recorded as changes.
    assert await audited(sessions, "client.program_changed") == []


async def test_a_new_invite_is_shown_once_as_a_link_and_a_qr_code(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    first = await people.invited("Ana")
    joined = await people.client("Ben")
    await create(settings, "ada@example.org", "admin")

    async with signed_in(engine, clock, "ada@example.org") as web:
        page = await web.get(f"/console/clients/{first.subject_id}", headers=HTML)
        assert ">New invite</button>" in page.text
        shown = await post(web, f"/console/clients/{first.subject_id}/invite")
        assert shown.status_code == 200
        assert shown.headers["cache-control"] == "no-store"
        assert "<svg" in shown.text
        found = re.search(r'href="https://t\.me/aftercare_sandbox_bot\?start=([\w-]+)"', shown.text)
        assert found is not None
        joined_page = await web.get(f"/console/clients/{joined.id}", headers=HTML)
        assert ">New invite</button>" not in joined_page.text
        refused = await post(web, f"/console/clients/{joined.id}/invite")
        assert refused.status_code == 409

    async with sessions() as session:
        with pytest.raises(InviteExpired):  # the earlier link no longer works
            await redeem_invite(session, first.token, telegram_user_id=5, chat_id=5, now=START)
        redeemed = await redeem_invite(
            session, found.group(1), telegram_user_id=5, chat_id=5, now=START
        )
        assert redeemed.subject.id == first.subject_id
    [entry] = [
        e for e in await audited(sessions, "invite.created") if e.actor_kind == "console_user"
    ]
    assert entry.subject_id == str(first.subject_id) and "token" not in str(entry.detail)


async def test_viewers_only_look_and_every_form_needs_its_csrf_token(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client("Ana", state=ClientState.paused, paused_until=START)
    await create(settings, "vic@example.org", "viewer")
    await create(settings, "ada@example.org", "admin")
    path = f"/console/clients/{client.id}"
    actions = {
        "pause": {"days": "7"},
        "resume": {},
        "discharge": {"confirm": "yes"},
        "cadence": {"program": "1", "mode": "normal"},
        "coordinator": {"coordinator": "none"},
        "invite": {},
    }

    async with signed_in(engine, clock, "vic@example.org") as web:
        page = await web.get(path, headers=HTML)
        assert page.status_code == 200
        assert '<form method="post" action="/console/clients' not in page.text
        for action, data in actions.items():
            assert (await post(web, f"{path}/{action}", data)).status_code == 403
    async with signed_in(engine, clock, "ada@example.org") as web:
        bare = await web.post(f"{path}/resume", data={})
        assert bare.status_code == 403
    assert (await current(sessions, client)).state == ClientState.paused


async def test_the_preview_shows_ninety_days_of_dated_messages(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client("Ana<3", values=["family"], reasons={"family": "my girls"})
    await create(settings, "ada@example.org", "admin")
    async with signed_in(engine, clock, "ada@example.org") as web:
        shown = await web.get(f"/console/clients/{client.id}/preview", headers=HTML)
    assert shown.status_code == 200
    preview = shown.text[shown.text.index('id="preview"') :]
    dates = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)"', preview)
    assert len(dates) > 30  # daily for the first month after discharge, then fewer
    assert dates[0] == "2026-11-26" and dates[-1] <= "2027-02-23"
    assert dates == sorted(dates)
    assert "Ana&lt;3" in preview and "&amp;lt;" not in preview  # as the client would read it
    [entry] = await audited(sessions, "console.client_preview.viewed")
    assert entry.subject_id == str(client.id)


DEEP = "[" * 5000  # past Python's recursion limit, still under the form's size limit
BAD_INPUT = [
    ("GET", "/console/clients?page=%C2%B2", None, 200),
    ("GET", "/console/clients?page=99999999999999999999", None, 200),
    ("GET", "/console/clients?coordinator=99999999999", None, 200),
    ("GET", "/console/clients?coordinator=%C2%B2", None, 200),
    ("GET", "/console/clients/{id}?before=0001-01-01T00:00:00%2B14:00", None, 200),
    ("GET", "/console/clients/{id}?before=9999-12-31T23:59:59-14:00", None, 200),
    ("GET", "/console/clients/{id}?before=%C2%B2", None, 200),
    ("GET", "/console/clients/99999999999", None, 422),
    ("GET", "/console/clients/0", None, 422),
    ("GET", "/console/clients/%C2%B2", None, 422),
    ("GET", "/console/clients/99999999999/preview", None, 422),
    ("POST", "/console/clients/99999999999/pause", {"days": "7"}, 422),
    ("POST", "/console/clients/99999999999/invite", {}, 422),
    ("POST", "/console/clients/{id}/pause", {"days": "\u00b2"}, 422),
    ("POST", "/console/clients/{id}/pause", {"days": "99999999999"}, 422),
    ("POST", "/console/clients/{id}/coordinator", {"coordinator": "99999999999"}, 422),
    ("POST", "/console/clients/{id}/coordinator", {"coordinator": "\u00b2"}, 422),
    ("POST", "/console/clients/{id}/cadence", {"program": "99999999999", "mode": "normal"}, 422),
    ("POST", "/console/clients/{id}/cadence", {"program": "\u00b2", "mode": "normal"}, 422),
    ("POST", "/console/clients/{id}/cadence", {"program": "{program}", "override": DEEP}, 422),
]


@pytest.mark.parametrize("case", BAD_INPUT)
async def test_bad_or_out_of_range_input_is_refused_kindly_or_ignored(
    case: tuple[str, str, dict[str, str] | None, int],
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    method, path, data, expected = case
    people = People(sessions)
    client = await people.client("Ana")
    async with sessions() as session:
        program = await standard_program_id(session)
    await create(settings, "ada@example.org", "admin")
    path = path.replace("{id}", str(client.id))
    async with signed_in(engine, clock, "ada@example.org") as web:
        if method == "GET":
            answer = await web.get(path, headers=HTML)
        else:
            form = {
                key: value.replace("{program}", str(program)) for key, value in (data or {}).items()
            }
            if "override" in form:
                form["mode"] = "normal"
            answer = await post(web, path, form)
    assert answer.status_code == expected, answer.text[:500]
    if expected == 200 and "/console/clients?" in path:
        assert rows(answer.text) == [client.id]  # no filter, or the last page
    if expected == 422 and method == "POST" and "99999999999/" not in path:
        assert "Nothing was changed" in answer.text
    stored = await current(sessions, client)
    assert (stored.state, stored.coordinator_id, stored.cadence_override) == (
        ClientState.active,
        None,
        None,
    )


async def test_a_client_not_there_is_the_console_s_own_404_page(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    await create(settings, "ada@example.org", "admin")
    async with signed_in(engine, clock, "ada@example.org") as web:
        for answer in (
            await web.get("/console/clients/424242", headers=HTML),
            await web.get("/console/clients/424242/preview", headers=HTML),
            await post(web, "/console/clients/424242/pause", {"days": "7"}),
            await post(web, "/console/clients/424242/pause", {"days": "x"}),
            await post(web, "/console/clients/424242/resume"),
            await post(web, "/console/clients/424242/invite"),
        ):
            assert answer.status_code == 404
            assert answer.headers["content-type"].startswith("text/html")
            assert "No such client" in answer.text
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["x-frame-options"] == "DENY"


async def test_a_handover_moves_the_old_coordinator_s_open_alerts_to_the_new_one(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    dana, lee, kim = (
        await people.staff("Dana"),
        await people.staff("Lee"),
        await people.staff("Kim"),
    )
    client = await people.client("Ana", coordinator_id=dana)
    open_alert = await people.alert(client, Severity.high, AlertStatus.open, assigned=dana)
    done = await people.alert(client, Severity.low, AlertStatus.resolved, assigned=dana)
    kims = await people.alert(client, Severity.medium, AlertStatus.acknowledged, assigned=kim)
    await create(settings, "dana@example.org", "coordinator", staff=dana)
    await create(settings, "lee@example.org", "coordinator", staff=lee)

    async def inbox(email: str) -> str:
        async with signed_in(engine, clock, email) as web:
            page = await web.get("/console/alerts", headers=HTML)
        assert page.status_code == 200
        return page.text

    assert f'id="alert-{open_alert}"' in await inbox("dana@example.org")
    assert f'id="alert-{open_alert}"' not in await inbox("lee@example.org")
    async with signed_in(engine, clock, "dana@example.org") as web:
        handed = await post(
            web, f"/console/clients/{client.id}/coordinator", {"coordinator": str(lee)}
        )
        assert handed.status_code == 303
    assert f'id="alert-{open_alert}"' not in await inbox("dana@example.org")
    assert f'id="alert-{open_alert}"' in await inbox("lee@example.org")

    async with sessions() as session:
        assigned = {
            alert_id: staff_id
            for alert_id, staff_id in await session.execute(
                sa.select(col(Alert.id), col(Alert.assigned_staff_id))
            )
        }
        events = (await session.scalars(sa.select(AlertEvent))).all()
    assert assigned == {open_alert: lee, done: dana, kims: kim}  # only what Dana had, unresolved
    [event] = events
    assert (event.alert_id, event.kind, event.staff_member_id) == (
        open_alert,
        AlertEventKind.reassigned,
        dana,
    )
    assert event.detail == {"from": dana, "to": lee, "why": "client handed over"}


async def test_no_invite_changes_when_telegram_cannot_tell_the_bot_s_username(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    first = await People(sessions).invited("Ana")
    await create(settings, "ada@example.org", "admin")

    async def unreachable() -> str:
        raise TelegramNetworkError(method=GetMe(), message="timed out")

    config = ConsoleConfig(clock=clock, bot_username=unreachable)
    async with signed_in(engine, clock, "ada@example.org", config=config) as web:
        refused = await post(web, f"/console/clients/{first.subject_id}/invite")
    assert refused.status_code == 503
    assert "Nothing was changed" in refused.text and "the earlier one still works" in refused.text
    assert await audited(sessions, "invite.created") != []  # only the first, by the script
    assert [
        e for e in await audited(sessions, "invite.created") if e.actor_kind == "console_user"
    ] == []
    async with sessions() as session:  # the first link still works
        redeemed = await redeem_invite(
            session, first.token, telegram_user_id=5, chat_id=5, now=START
        )
    assert redeemed.subject.id == first.subject_id


async def test_no_break_during_onboarding(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    people = People(sessions)
    client = await people.client("Ana", state=ClientState.onboarding)
    await create(settings, "ada@example.org", "admin")
    async with signed_in(engine, clock, "ada@example.org") as web:
        page = await web.get(f"/console/clients/{client.id}", headers=HTML)
        assert ">Pause</button>" not in page.text
        refused = await post(web, f"/console/clients/{client.id}/pause", {"days": "7"})
    assert refused.status_code == 409 and "once onboarding is finished" in refused.text
    assert (await current(sessions, client)).state == ClientState.onboarding
