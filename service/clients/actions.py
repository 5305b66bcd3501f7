"""What can be done to a client's check-ins, by the client in the chat or by the care team in the
console: pause, resume, discharge, a change of cadence or coordinator, a new invite; and what
the client would hear over the coming days.

Each change is one use case: it checks the client's state allows it, makes the change, leaves
the planner what it needs (``next_checkin_at`` cleared: the next touch is planned afresh), and
records who did it in the audit log. The caller commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.audit.models import ActorKind
from service.audit.service import Actor, record_audit
from service.checkins.cadence import local_date
from service.checkins.models import CadenceChange
from service.checkins.planner import Cadences, person_of
from service.checkins.programs import override_cadence
from service.checkins.service import stop_schedule
from service.clients.invites import IssuedInvite, issue_invite
from service.clients.models import CadenceMode, Client, ClientState, Invite, Program
from service.content.preview import Planned, preview
from service.content.service import published_library, situation
from service.errors import AftercareError
from service.staff.models import StaffMember

MAX_PAUSE_DAYS = 90
# A break is for someone who hears from us: not before consent, not after stop, and not during
# onboarding (ending the break makes the client active, so the rest of onboarding never ran).
PAUSABLE = frozenset({ClientState.active, ClientState.paused})
# Staff may end a break; starting again after STOP is the client's own choice, never the team's.
RESUMABLE = frozenset({ClientState.paused})
RESUMABLE_BY_CLIENT = frozenset({ClientState.paused, ClientState.opted_out})
DISCHARGEABLE = frozenset(set(ClientState) - {ClientState.opted_out, ClientState.erased})


class NotNow(AftercareError):
    """This cannot be done to this client as things stand."""


CLIENT = Actor(ActorKind.client)


async def _audit(
    session: AsyncSession, by: Actor, action: str, client: Client, **detail: Any
) -> None:
    await record_audit(session, by.kind, action, "client", client.id, detail=detail, actor_id=by.id)


async def pause(
    session: AsyncSession, client: Client, *, days: int, now: datetime, by: Actor
) -> datetime:
    """A break from scheduled touches for ``days`` days (what is queued is cancelled); the
    worker's ``resume`` tick ends it. Returns when it ends."""
    if client.state is ClientState.onboarding:
        raise NotNow(
            "A break can start once onboarding is finished: the client has not answered its "
            "questions yet, and check-ins have not begun."
        )
    if client.state not in PAUSABLE:
        raise NotNow("Only a client who receives check-ins can have a break.")
    if not 1 <= days <= MAX_PAUSE_DAYS:
        raise NotNow(f"A break lasts 1 to {MAX_PAUSE_DAYS} days.")
    client.state = ClientState.paused
    await stop_schedule(session, client)
    client.paused_until = now + timedelta(days=days)
    client.updated_at = now
    await _audit(session, by, "client.paused", client, days=days)
    return client.paused_until


async def resume(session: AsyncSession, client: Client, *, now: datetime, by: Actor) -> None:
    """Check-ins on again, planned afresh from tomorrow. A client may also come back after
    stopping; the care team may only end a break."""
    allowed = RESUMABLE_BY_CLIENT if by.kind is ActorKind.client else RESUMABLE
    if client.state not in allowed:
        raise NotNow("Check-ins are not paused.")
    client.state = ClientState.active
    client.paused_until = None
    client.next_checkin_at = None  # the planner plans afresh, from tomorrow
    client.updated_at = now
    await _audit(session, by, "client.resumed", client)


async def discharge(session: AsyncSession, client: Client, *, now: datetime, by: Actor) -> None:
    """The client has finished aftercare: nothing more is scheduled (what is queued is
    cancelled) and invites not yet used stop working. As after STOP, the safety net stays:
    whatever they write is still read for risk and answered, and /start brings them back."""
    if client.state not in DISCHARGEABLE:
        raise NotNow("This client receives no check-ins already.")
    was = client.state
    client.state = ClientState.opted_out
    await stop_schedule(session, client)
    client.paused_until = None
    client.updated_at = now
    await _revoke_invites(session, client, now)
    await _audit(session, by, "client.discharged", client, state_was=was.value)


async def new_invite(
    session: AsyncSession, client: Client, *, ttl: timedelta, now: datetime, by: Actor
) -> IssuedInvite:
    """A fresh invite for a client who has not joined yet (the first expired, or was lost);
    earlier invites stop working."""
    if client.state is not ClientState.invited:
        raise NotNow("This client has joined already: a new invite is for someone who has not.")
    assert client.id is not None
    await _revoke_invites(session, client, now)
    invite, token = await issue_invite(session, ttl=ttl, now=now, client_id=client.id)
    await _audit(session, by, "invite.created", client, invite_id=invite.id)
    return IssuedInvite(invite, token, client.id)


async def _revoke_invites(session: AsyncSession, client: Client, now: datetime) -> None:
    await session.execute(
        sa.update(Invite)
        .where(
            col(Invite.client_id) == client.id,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(expires_at=now)
    )


async def change_coordinator(
    session: AsyncSession, client: Client, staff_member_id: int | None, *, now: datetime, by: Actor
) -> None:
    """Another coordinator (an active member of the care team), or none. Alerts about the client
    not yet resolved that the old coordinator was to see to go to the new one (with a
    ``reassigned`` event); with no new coordinator they stay where they are, so someone still
    has them."""
    if staff_member_id is not None:
        member = await session.get(StaffMember, staff_member_id)
        if member is None or not member.active:
            raise NotNow("Choose an active member of the care team.")
    if staff_member_id == client.coordinator_id:
        return
    was = client.coordinator_id
    client.coordinator_id = staff_member_id
    client.updated_at = now
    if was is not None and staff_member_id is not None:
        await _hand_over_alerts(session, client, was, staff_member_id, now=now, by=by)
    await _audit(session, by, "client.coordinator_changed", client, was=was, now=staff_member_id)


async def _hand_over_alerts(
    session: AsyncSession, client: Client, was: int, to: int, *, now: datetime, by: Actor
) -> None:
    moved = await session.scalars(
        sa.update(Alert)
        .where(
            col(Alert.client_id) == client.id,
            col(Alert.status) != AlertStatus.resolved,
            col(Alert.assigned_staff_id) == was,
        )
        .values(assigned_staff_id=to, updated_at=now)
        .returning(col(Alert.id))
        .execution_options(synchronize_session="fetch")
    )
    session.add_all(
        AlertEvent(
            alert_id=alert_id,
            kind=AlertEventKind.reassigned,
            staff_member_id=by.staff_member_id,
            detail={"from": was, "to": to, "why": "client handed over"},
            created_at=now,
        )
        for alert_id in moved.all()
        if alert_id is not None  # always: ids are the primary key
    )


async def change_program(
    session: AsyncSession, client: Client, program_id: int, *, now: datetime, by: Actor
) -> None:
    """Another program's cadence, from the next touch."""
    if program_id == client.program_id:
        return
    if await session.get(Program, program_id) is None:
        raise NotNow("There is no such program.")
    was = client.program_id
    client.program_id = program_id
    client.next_checkin_at = None
    client.updated_at = now
    await _audit(session, by, "client.program_changed", client, was=was, now=program_id)


async def change_mode(
    session: AsyncSession, client: Client, mode: CadenceMode, *, now: datetime, by: Actor
) -> None:
    """Set the cadence mode the planner otherwise adapts by itself: intensive (daily, for the
    program's intensive spell), steady (the next phase's days, until a miss) or normal. The
    planner keeps adapting from there, as after a change of its own."""
    if mode == client.cadence_mode:
        return
    assert client.id is not None
    until = None
    if mode is CadenceMode.intensive:
        cadences = Cadences()
        await cadences.load(session)
        days = cadences.of(client).intensive.days
        until = local_date(now, client.timezone) + timedelta(days=days)
    session.add(
        CadenceChange(
            client_id=client.id,
            mode_from=client.cadence_mode,
            mode_to=mode,
            until=until,
            reason={"rule": "coordinator decision"},
            staff_member_id=by.staff_member_id,
        )
    )
    was = client.cadence_mode
    client.cadence_mode, client.cadence_mode_until = mode, until
    client.next_checkin_at = None
    client.updated_at = now
    await _audit(session, by, "client.cadence_mode_changed", client, was=was.value, now=mode.value)


async def change_override(
    session: AsyncSession,
    client: Client,
    override: dict[str, Any] | None,
    *,
    now: datetime,
    by: Actor,
) -> None:
    """Keys of the program's cadence replaced for this client (None: the program's own), as
    `aftercare cadence` sets them; raises ``InvalidCadence`` for a cadence that does not hold."""
    if (override or None) == (client.cadence_override or None):
        return
    await override_cadence(session, client, override or None, by=by, now=now)


async def upcoming(
    session: AsyncSession,
    client: Client,
    *,
    now: datetime,
    days: int = 90,
    start: date | None = None,
) -> list[Planned]:
    """What the client would hear over ``days`` days from ``start`` (their today), by their
    cadence, window and history, from the published library; the console's 90-day preview and
    ``aftercare templates preview --client``."""
    library = [item.source for item in await published_library(session)]
    cadences = Cadences()
    await cadences.load(session)
    seen = await situation(session, client, now)
    return preview(
        library,
        seen.profile,
        seen.facts,
        discharge_date=seen.discharge_date,
        start=start or local_date(now, client.timezone),
        days=days,
        history=seen.history,
        cadence=cadences.of(client),
        person=person_of(client),
    )
