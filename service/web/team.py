"""The care team: staff, roles, the on-call rota the escalation ladder uses, the alert chat.

Everyone signed in sees the page; admins change it: who is on call (the ladder's ``on_call``
steps tell them), a member's role (its ``supervisors`` steps tell the supervisors) and whether
they are active (only active staff hear of alerts or may act on them), and they make invite
links for new members. Every change is in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

import sqlalchemy as sa
from aiogram.exceptions import TelegramAPIError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.ladder import Audience
from service.alerts.models import Alert, AlertStatus
from service.clients.invites import invite_link, invite_staff
from service.clients.models import Client
from service.console.accounts import SignedIn
from service.staff.models import StaffMember, StaffRole
from service.web.alerts import AUDIENCES, visible_alerts
from service.web.console import (
    SEVERITIES,
    Admin,
    CheckedForm,
    Database,
    Id,
    Viewer,
    actor_of,
    as_id,
    audit,
    console_of,
    see_other,
)

router = APIRouter()

NAME_LIMIT: Final = 120
NOTICES: Final = {
    "on_call": "{name} is on call: the on-call steps of the ladder tell them.",
    "off_call": "{name} is off call.",
    "role": "{name} is now {role}.",
    "activated": "{name} is active again.",
    "deactivated": "{name} is inactive: they hear of no alerts and cannot act on them.",
    "unchanged": "Nothing changed for {name}.",
}
PROBLEMS: Final = {
    "no_name": f"Name the new member (at most {NAME_LIMIT} characters): no invite made.",
    "no_role": "Choose coordinator, supervisor or admin: nothing changed.",
    "no_username": (
        "Telegram could not tell the bot's username, so no invite was made. Try again, or set "
        "AFTERCARE_TELEGRAM_BOT_USERNAME."
    ),
}


@dataclass(frozen=True)
class Member:
    staff: StaffMember
    open_alerts: int  # unresolved alerts assigned to them (that the viewer sees in the inbox)


@dataclass(frozen=True)
class Rung:
    """A step of the ladder as the team page shows it, and who it would tell now."""

    severity: str
    number: int
    when: str
    to: str
    told: list[str]  # names: active, linked to Telegram, in the step's audience


@dataclass(frozen=True)
class Invited:
    name: str
    role: str
    link: str
    expires_at: datetime


async def members(session: AsyncSession, viewer: SignedIn) -> list[Member]:
    """Every staff member with their open alerts, in one query: active first, by name. The
    counts are of the alerts the viewer may see, as the inbox they link to lists them."""
    assigned = (
        sa.select(col(Alert.assigned_staff_id).label("staff_id"), sa.func.count().label("open"))
        .join(Client, col(Client.id) == col(Alert.client_id))
        .where(col(Alert.status) != AlertStatus.resolved, visible_alerts(viewer))
        .group_by(col(Alert.assigned_staff_id))
        .subquery()
    )
    rows = await session.execute(
        sa.select(StaffMember, sa.func.coalesce(assigned.c.open, 0))
        .outerjoin(assigned, assigned.c.staff_id == col(StaffMember.id))
        .order_by(col(StaffMember.active).desc(), col(StaffMember.name), col(StaffMember.id))
    )
    return [Member(staff, int(count)) for staff, count in rows]


def in_audience(member: StaffMember, to: Audience) -> bool:
    """Whether the escalation tick would tell ``member`` at a step for ``to`` (as its own
    query and ``escalation.audience`` choose: active, linked, and a supervisor or on call)."""
    if not member.active or member.telegram_chat_id is None:
        return False
    return member.role == StaffRole.supervisor if to is Audience.supervisors else member.on_call


def rungs(request: Request, staff: Sequence[StaffMember]) -> list[Rung]:
    ladder = console_of(request).config.messaging.alerts.ladder
    found = []
    for severity in SEVERITIES:
        for number, step in enumerate(ladder.steps_for(severity.value), 1):
            when = (
                f"after {step.data()['after']}"
                if step.after is not None
                else f"next working day at {step.data()['next_working_day']}"
            )
            told = [member.name for member in staff if in_audience(member, step.to)]
            found.append(Rung(severity.value, number, when, AUDIENCES[step.to], told))
    return found


async def team_page(
    request: Request,
    session: AsyncSession,
    viewer: SignedIn,
    *,
    said: str = "",
    subject: StaffMember | None = None,
    invited: Invited | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    listed = await members(session, viewer)
    staff = [member.staff for member in listed]
    notice = problem = None
    if said in PROBLEMS:
        problem = PROBLEMS[said]
    elif said in NOTICES and subject is not None:
        notice = NOTICES[said].format(name=subject.name, role=subject.role.value)
    routing = console.config.messaging.alerts
    return console.render(
        request,
        "team.html",
        {
            "members": listed,
            "on_call": [m for m in staff if m.active and m.on_call],
            "rungs": rungs(request, staff),
            "team_chat": routing.team_chat_id,
            "roles": [role.value for role in StaffRole],
            "is_admin": viewer.role.value == "admin",
            "notice": notice,
            "problem": problem,
            "invited": invited,
            "name_limit": NAME_LIMIT,
        },
        status_code=status_code,
    )


@router.get("/console/team", response_class=HTMLResponse)
async def team(
    request: Request, session: Database, viewer: Viewer, said: str = "", staff: str = ""
) -> Response:
    """The team, the on-call rota and the ladder it feeds, and the alert chat."""
    staff_id = as_id(staff)
    subject = await session.get(StaffMember, staff_id) if staff_id is not None else None
    return await team_page(request, session, viewer, said=said, subject=subject)


def back(member: StaffMember, said: str) -> Response:
    query = urlencode({"said": said, "staff": member.id})
    return see_other(f"/console/team?{query}#staff-{member.id}")


async def change(
    request: Request,
    session: AsyncSession,
    viewer: SignedIn,
    staff_id: int,
    *,
    field: str,
    value: Any,
    said: str,
) -> Response:
    """Set one of a staff member's fields (locked against another change at once), audited as
    ``console.staff.<said>``; back to the team page."""
    member = await session.get(StaffMember, staff_id, with_for_update=True)
    if member is None:
        return console_of(request).render(
            request,
            "forbidden.html",
            {"reason": "There is no such staff member."},
            status_code=404,
        )
    if getattr(member, field) == value:
        return back(member, "unchanged")
    before = getattr(member, field)
    setattr(member, field, value)
    detail = {"from": before, "to": value} if field == "role" else {}
    await audit(session, viewer, f"console.staff.{said}", "staff_member", member.id, **detail)
    await session.commit()
    return back(member, said)


@router.post("/console/team/{staff_id}/on-call")
async def on_call(
    request: Request, staff_id: Id, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    """On call (``on_call=on``) or off: the escalation ladder's on-call steps tell them."""
    on = form.get("on_call") == "on"
    said = "on_call" if on else "off_call"
    return await change(request, session, viewer, staff_id, field="on_call", value=on, said=said)


@router.post("/console/team/{staff_id}/active")
async def active(
    request: Request, staff_id: Id, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    """Active (``active=on``) or not: inactive staff hear of no alerts and cannot act."""
    on = form.get("active") == "on"
    said = "activated" if on else "deactivated"
    return await change(request, session, viewer, staff_id, field="active", value=on, said=said)


@router.post("/console/team/{staff_id}/role")
async def role(
    request: Request, staff_id: Id, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    chosen = form.get("role", "")
    if chosen not in {role.value for role in StaffRole}:
        return await team_page(request, session, viewer, said="no_role", status_code=400)
    return await change(
        request, session, viewer, staff_id, field="role", value=StaffRole(chosen), said="role"
    )


@router.post("/console/team/invite", response_class=HTMLResponse)
async def invite(request: Request, session: Database, viewer: Admin, form: CheckedForm) -> Response:
    """A single-use invite link for a new member of the team, shown this once."""
    name = " ".join(form.get("name", "").split())
    chosen = form.get("role", "")
    if not name or len(name) > NAME_LIMIT:
        return await team_page(request, session, viewer, said="no_name", status_code=400)
    if chosen not in {role.value for role in StaffRole}:
        return await team_page(request, session, viewer, said="no_role", status_code=400)
    config = console_of(request).config
    try:
        username = await config.bot_username()
    except TelegramAPIError:
        return await team_page(request, session, viewer, said="no_username", status_code=503)
    now = config.clock()
    issued = await invite_staff(
        session,
        name=name,
        role=StaffRole(chosen),
        ttl=config.invite_ttl,
        now=now,
        by=actor_of(viewer),
    )
    await session.commit()
    invited = Invited(name, chosen, invite_link(username, issued.token), issued.invite.expires_at)
    return await team_page(request, session, viewer, invited=invited)
