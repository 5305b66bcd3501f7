"""Clients: the list with search and filters, a client's page, and the actions on a client.

Everyone signed in may look (a coordinator at their own clients only: anyone else's is a 404);
admins and coordinators act, through the use cases of ``service.clients.actions``. Opening a
client's page or preview, which show what they wrote and heard, is in the audit log, as is
every change.

Exporting a client's data and erasing it on their request are for admins only: an export is the
whole record in a file that leaves the console (and its audit log) behind, so it is a privacy
officer's act, not a coordinator's; an erasure cannot be undone and needs the client's code typed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
import sqlalchemy as sa
from aiogram.exceptions import TelegramAPIError
from aiohttp import ClientError
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.audit.service import Actor
from service.checkins.models import Checkin
from service.clients import actions, privacy
from service.clients.invites import invite_link
from service.clients.models import CadenceMode, Client, ClientState, Program
from service.console.accounts import SignedIn
from service.content.rendering import TAG
from service.conversations.models import InboundKind, InboundMessage
from service.errors import InvalidCadence
from service.outbox.models import Lane, OutboxMessage
from service.signals.models import Severity, Signal
from service.staff.models import ConsoleRole, StaffMember
from service.web.console import (
    SEVERITIES,
    Acting,
    Admin,
    CheckedForm,
    Database,
    Id,
    Viewer,
    actor_of,
    as_id,
    as_number,
    audit,
    console_of,
    private,
    see_other,
    staff_members,
    visible_clients,
)

router = APIRouter()
E = TypeVar("E", bound=StrEnum)

PAGE_SIZE = 50
TIMELINE_SIZE = 100
PREVIEW_DAYS = 90
NO_COORDINATOR = "none"
ANY_RISK = "any"


class Replied(StrEnum):
    """When the client last wrote, for the list's filter."""

    week = "week"
    month = "month"
    older = "older"
    never = "never"


REPLIED_LABELS = {
    Replied.week: "in the last 7 days",
    Replied.month: "7 to 30 days ago",
    Replied.older: "over 30 days ago",
    Replied.never: "never",
}


class Sort(StrEnum):
    code = "code"
    last_reply = "last_reply"
    next_checkin = "next_checkin"


SORT_LABELS = {Sort.code: "Code", Sort.last_reply: "Last reply", Sort.next_checkin: "Next check-in"}
# What a person writes or taps; blocking or unblocking the bot is not a reply.
NOT_A_REPLY = InboundKind.membership
DONE = {
    "paused": "Check-ins are paused.",
    "resumed": "Check-ins are on again, from tomorrow.",
    "discharged": "The client is discharged: nothing more is scheduled.",
    "cadence": "The cadence is changed, from the next check-in.",
    "coordinator": "The coordinator is changed.",
    "erased": "The client's data is erased; their record stays, with its code, as a tombstone.",
}


def _choice(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """The list's search, filters, order and page, read leniently from the query string."""

    q: str = ""
    state: ClientState | None = None
    risk: str = ""  # a severity, ANY_RISK, or "" for no filter
    replied: Replied | None = None
    coordinator: str = ""  # a staff member's id, NO_COORDINATOR, or ""
    sort: Sort = Sort.code
    page: int = 1

    @classmethod
    def read(cls, params: dict[str, str]) -> Filters:
        risk = params.get("risk", "")
        coordinator = params.get("coordinator", "")
        staff_member_id = as_id(coordinator)
        return cls(
            q=params.get("q", "").strip()[:80],
            state=_choice(ClientState, params.get("state")),
            risk=risk if risk == ANY_RISK or _choice(Severity, risk) else "",
            replied=_choice(Replied, params.get("replied")),
            coordinator=NO_COORDINATOR
            if coordinator == NO_COORDINATOR
            else str(staff_member_id or ""),
            sort=_choice(Sort, params.get("sort")) or Sort.code,
            page=as_number(params.get("page")) or 1,  # past the last page: the last (see _list)
        )

    def link(self, **changes: Any) -> str:
        """This list with some of its parameters changed (the page back to 1 unless given)."""
        wanted = replace(self, **{"page": 1, **changes})
        params = {
            "q": wanted.q,
            "state": wanted.state or "",
            "risk": wanted.risk,
            "replied": wanted.replied or "",
            "coordinator": wanted.coordinator,
            "sort": "" if wanted.sort == Sort.code else str(wanted.sort),
            "page": "" if wanted.page == 1 else str(wanted.page),
        }
        query = urlencode({key: value for key, value in params.items() if value})
        return "/console/clients" + (f"?{query}" if query else "")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _last_reply() -> Any:
    """The client's latest message, one index probe per client with an index on
    ``inbound_messages (client_id, received_at)``."""
    return (
        sa.select(col(InboundMessage.received_at).label("at"))
        .where(
            col(InboundMessage.client_id) == col(Client.id),
            col(InboundMessage.kind) != NOT_A_REPLY,
        )
        .order_by(col(InboundMessage.received_at).desc())
        .limit(1)
        .lateral("last_reply")
    )


def _conditions(filters: Filters, last_at: Any, now: datetime) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if filters.q:
        pattern = _like(filters.q)
        found.append(sa.or_(col(Client.code).ilike(pattern), col(Client.first_name).ilike(pattern)))
    if filters.state is not None:
        found.append(col(Client.state) == filters.state)
    if filters.risk:
        unresolved = sa.select(col(Alert.id)).where(
            col(Alert.client_id) == col(Client.id), col(Alert.status) != AlertStatus.resolved
        )
        if filters.risk != ANY_RISK:
            unresolved = unresolved.where(col(Alert.severity) == filters.risk)
        found.append(sa.exists(unresolved))
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    match filters.replied:
        case Replied.week:
            found.append(last_at >= week)
        case Replied.month:
            found.append(sa.and_(last_at < week, last_at >= month))
        case Replied.older:
            found.append(last_at < month)
        case Replied.never:
            found.append(last_at.is_(None))
    if filters.coordinator == NO_COORDINATOR:
        found.append(col(Client.coordinator_id).is_(None))
    elif filters.coordinator:
        found.append(col(Client.coordinator_id) == int(filters.coordinator))
    return found


@dataclass(frozen=True)
class Listed:
    client: Client
    last_reply_at: datetime | None
    coordinator: str | None
    risk: Severity | None  # the most severe alert not resolved


async def _list(
    session: AsyncSession, mine: sa.ColumnElement[bool], filters: Filters, now: datetime
) -> tuple[list[Listed], int, Filters]:
    """A page of the clients found, how many were found, and the filters with the page shown
    (a page past the last is the last)."""
    last = _last_reply()
    where = [mine, *_conditions(filters, last.c.at, now)]
    counted = sa.select(sa.func.count()).select_from(Client)
    if filters.replied is not None:  # the count needs each last reply only to filter by it
        counted = counted.outerjoin(last, sa.true())
    total = await session.scalar(counted.where(*where)) or 0
    filters = replace(filters, page=min(filters.page, _pages(total)))
    order: list[Any] = {
        Sort.code: [col(Client.code)],
        Sort.last_reply: [last.c.at.desc().nulls_last(), col(Client.code)],
        Sort.next_checkin: [col(Client.next_checkin_at).asc().nulls_last(), col(Client.code)],
    }[filters.sort]
    rows = (
        await session.execute(
            sa.select(Client, last.c.at, col(StaffMember.name))
            .select_from(Client)
            .outerjoin(last, sa.true())
            .outerjoin(StaffMember, col(StaffMember.id) == col(Client.coordinator_id))
            .where(*where)
            .order_by(*order)
            .limit(PAGE_SIZE)
            .offset((filters.page - 1) * PAGE_SIZE)
        )
    ).all()
    ids = [client.id for client, _, _ in rows]
    worst: dict[int, Severity] = {}
    for client_id, severity in await session.execute(
        sa.select(col(Alert.client_id), col(Alert.severity)).where(
            col(Alert.client_id).in_(ids), col(Alert.status) != AlertStatus.resolved
        )
    ):
        known = worst.get(client_id)
        if known is None or SEVERITIES.index(severity) < SEVERITIES.index(known):
            worst[client_id] = severity
    listed = [Listed(client, at, name, worst.get(client.id or 0)) for client, at, name in rows]
    return listed, total, filters


def _pages(total: int) -> int:
    return max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)


@router.get("/console/clients", response_class=HTMLResponse)
async def clients(request: Request, session: Database, viewer: Viewer) -> Response:
    """The clients this user may see, searched, filtered, sorted, 50 a page."""
    console = console_of(request)
    filters = Filters.read(dict(request.query_params))
    listed, total, filters = await _list(
        session, visible_clients(viewer), filters, console.config.clock()
    )
    pages = _pages(total)
    own_only = viewer.role is ConsoleRole.coordinator
    return console.render(
        request,
        "clients.html",
        {
            "filters": filters,
            "listed": listed,
            "total": total,
            "pages": pages,
            "states": list(ClientState),
            "severities": SEVERITIES,
            "replied_labels": REPLIED_LABELS,
            "sort_labels": SORT_LABELS,
            "staff": [] if own_only else await staff_members(session, active_only=False),
            "own_only": own_only,
            "local": local,
        },
    )


def local(at: datetime | None, timezone: str) -> str:
    """A time as the client lives it: their date and clock, and their zone's abbreviation."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class Event:
    """One thing in a client's timeline."""

    at: datetime
    kind: str  # inbound, outbound, checkin, signal, alert
    label: str
    text: str | None = None  # words written or sent: always shown as text
    severity: str | None = None
    link: str | None = None


INBOUND_LABELS = {
    InboundKind.sticker: "sent a sticker",
    InboundKind.voice: "sent a voice message",
    InboundKind.photo: "sent a photo",
    InboundKind.membership: "blocked or unblocked the bot",
    InboundKind.callback: "pressed a button",
    InboundKind.command: "sent a command",
    InboundKind.edited: "edited a message",
}


def _inbound(message: InboundMessage) -> Event:
    label = INBOUND_LABELS.get(message.kind, "wrote")
    if message.redacted_at is not None:
        return Event(message.received_at, "inbound", f"{label} (removed after retention)")
    return Event(message.received_at, "inbound", label, message.text)


def as_read(text: str) -> str:
    """Telegram HTML as its reader sees it: formatting gone, entities as characters (the page
    escapes it again as text)."""
    return html.unescape(TAG.sub("", text))


def _outbound(message: OutboxMessage) -> Event:
    lane = Lane(message.lane).name
    label = f"{lane} message, {message.status}"
    if message.method != "sendMessage":
        return Event(message.created_at, "outbound", f"{label} ({message.method})")
    if "redacted_at" in message.payload:
        return Event(message.created_at, "outbound", f"{label} (removed after retention)")
    text = str(message.payload.get("text", ""))
    if message.payload.get("parse_mode") == "HTML":
        text = as_read(text)
    return Event(message.created_at, "outbound", label, text)


def _checkin(checkin: Checkin) -> Event:
    answers = ", ".join(f"{scale} {value}" for scale, value in checkin.answers.items())
    label = f"check-in ({checkin.kind.replace('_', ' ')}), {checkin.status}"
    return Event(checkin.created_at, "checkin", label + (f": {answers}" if answers else ""))


def _signal(signal: Signal) -> Event:
    label = f"signal: {signal.kind.replace('_', ' ')}"
    return Event(signal.created_at, "signal", label, severity=signal.severity)


def _alert(alert: Alert) -> Event:
    label = f"alert: {alert.kind.replace('_', ' ')}, {alert.status}"
    if alert.summary:
        label += f" ({alert.summary})"
    return Event(
        alert.opened_at,
        "alert",
        label,
        severity=alert.severity,
        link=f"/console/alerts/{alert.id}",
    )


async def _timeline(
    session: AsyncSession, client_id: int, before: datetime | None
) -> tuple[list[Event], datetime | None]:
    """The client's latest events before ``before``, newest first, and where older ones start
    (None: there are none)."""
    sources: list[tuple[Any, Any, Any]] = [
        (InboundMessage, col(InboundMessage.received_at), _inbound),
        (OutboxMessage, col(OutboxMessage.created_at), _outbound),
        (Checkin, col(Checkin.created_at), _checkin),
        (Signal, col(Signal.created_at), _signal),
        (Alert, col(Alert.opened_at), _alert),
    ]
    merged: list[Event] = []
    for model, at, event in sources:
        query = sa.select(model).where(model.client_id == client_id)
        if before is not None:
            query = query.where(at < before)
        rows = await session.scalars(query.order_by(at.desc()).limit(TIMELINE_SIZE + 1))
        merged.extend(event(row) for row in rows)
    merged.sort(key=lambda item: item.at, reverse=True)
    if len(merged) <= TIMELINE_SIZE:
        return merged, None
    shown = merged[:TIMELINE_SIZE]
    # Things of one moment (a message, its signal, its alert) stay on one page together.
    cut = shown[-1].at
    if merged[TIMELINE_SIZE].at == cut:
        shown = [item for item in shown if item.at != cut] or shown
    return shown, shown[-1].at


async def _visible(
    session: AsyncSession, viewer: SignedIn, client_id: int, *, for_update: bool = False
) -> Client | None:
    """The client, if this user may see them (None: there is no such client, to them)."""
    query = sa.select(Client).where(col(Client.id) == client_id, visible_clients(viewer))
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


def _missing(request: Request) -> Response:
    return console_of(request).render(request, "client_missing.html", status_code=404)


def _parsed_time(value: str | None) -> datetime | None:
    """A moment with its offset, in UTC; None for anything else (a time past what UTC can hold,
    such as year 1 at +14:00, included)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


async def _client_page(
    request: Request,
    session: AsyncSession,
    viewer: SignedIn,
    client: Client,
    *,
    before: datetime | None = None,
    done: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    assert client.id is not None
    events, older = await _timeline(session, client.id, before)
    coordinator = (
        await session.get(StaffMember, client.coordinator_id) if client.coordinator_id else None
    )
    programs = list(await session.scalars(sa.select(Program).order_by(col(Program.name))))
    acting = viewer.role in {ConsoleRole.admin, ConsoleRole.coordinator}
    await audit(
        session,
        viewer,
        "console.client_messages.viewed",
        "client",
        client.id,
        before=before.isoformat() if before else None,
    )
    await session.commit()
    return console_of(request).render(
        request,
        "client.html",
        {
            "client": client,
            "coordinator": coordinator,
            "program": next((p for p in programs if p.id == client.program_id), None),
            "programs": programs,
            "staff": await staff_members(session) if acting else [],
            "modes": list(CadenceMode),
            "override": json.dumps(client.cadence_override, indent=2)
            if client.cadence_override
            else "",
            "events": events,
            "older": older.isoformat() if older else None,
            "paged": before is not None,
            "acting": acting,
            "can_pause": client.state in actions.PAUSABLE,
            "can_resume": client.state in actions.RESUMABLE,
            "can_discharge": client.state in actions.DISCHARGEABLE,
            "can_invite": client.state is ClientState.invited,
            "admin": viewer.role is ConsoleRole.admin,
            "can_erase": client.state is not ClientState.erased,
            "max_pause_days": actions.MAX_PAUSE_DAYS,
            "done": DONE.get(done or ""),
            "problem": problem,
            "local": local,
        },
        status_code=status_code,
    )


@router.get("/console/clients/{client_id}", response_class=HTMLResponse)
async def client_page(
    request: Request,
    session: Database,
    viewer: Viewer,
    client_id: Id,
    *,
    before: Annotated[str | None, Query()] = None,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    """A client's profile, what matters to them, their schedule and timeline (audited)."""
    client = await _visible(session, viewer, client_id)
    if client is None:
        return _missing(request)
    return await _client_page(
        request, session, viewer, client, before=_parsed_time(before), done=done
    )


@router.get("/console/clients/{client_id}/preview", response_class=HTMLResponse)
async def client_preview(
    request: Request, session: Database, viewer: Viewer, client_id: Id
) -> Response:
    """What the client would hear over the next 90 days (audited)."""
    console = console_of(request)
    client = await _visible(session, viewer, client_id)
    if client is None:
        return _missing(request)
    receiving = client.state not in {ClientState.opted_out, ClientState.erased}
    planned = (
        await actions.upcoming(session, client, now=console.config.clock(), days=PREVIEW_DAYS)
        if receiving
        else []
    )
    await audit(session, viewer, "console.client_preview.viewed", "client", client.id)
    await session.commit()
    return console.render(
        request,
        "client_preview.html",
        {
            "client": client,
            "planned": [replace(item, text=as_read(item.text)) for item in planned],
            "receiving": receiving,
            "days": PREVIEW_DAYS,
        },
    )


def _done(client_id: int, what: str) -> Response:
    return see_other(f"/console/clients/{client_id}?done={what}")


async def _refused(
    request: Request,
    session: AsyncSession,
    viewer: SignedIn,
    client_id: int,
    problem: str,
    *,
    status_code: int = 409,
) -> Response:
    """The client's page again, saying why nothing was changed."""
    await session.rollback()
    client = await _visible(session, viewer, client_id)
    if client is None:
        return _missing(request)
    return await _client_page(
        request, session, viewer, client, problem=problem, status_code=status_code
    )


async def _act(
    request: Request,
    session: AsyncSession,
    viewer: SignedIn,
    client_id: int,
    change: Callable[[Client, datetime, Actor], Awaitable[object]],
    *,
    done: str,
    refused_with: int = 409,
    then: Response | None = None,
) -> Response:
    """One change to a client the user may see (locked while it is made): committed and back
    to their page saying it is done (or to ``then``), or their page saying why not."""
    client = await _visible(session, viewer, client_id, for_update=True)
    if client is None:
        return _missing(request)
    try:
        await change(client, console_of(request).config.clock(), actor_of(viewer))
    except (actions.NotNow, InvalidCadence) as exc:
        return await _refused(
            request, session, viewer, client_id, str(exc), status_code=refused_with
        )
    await session.commit()
    return then or _done(client_id, done)


@router.post("/console/clients/{client_id}/pause")
async def pause(
    request: Request, session: Database, viewer: Acting, form: CheckedForm, client_id: Id
) -> Response:
    chosen = as_number(form.get("days"), high=actions.MAX_PAUSE_DAYS)
    if chosen is None:
        problem = f"Give a number of days, 1 to {actions.MAX_PAUSE_DAYS}."
        return await _refused(request, session, viewer, client_id, problem, status_code=422)
    days = chosen

    async def change(client: Client, now: datetime, by: Actor) -> None:
        await actions.pause(session, client, days=days, now=now, by=by)

    return await _act(request, session, viewer, client_id, change, done="paused")


@router.post("/console/clients/{client_id}/resume")
async def resume(
    request: Request, session: Database, viewer: Acting, form: CheckedForm, client_id: Id
) -> Response:
    async def change(client: Client, now: datetime, by: Actor) -> None:
        await actions.resume(session, client, now=now, by=by)

    return await _act(request, session, viewer, client_id, change, done="resumed")


@router.post("/console/clients/{client_id}/discharge")
async def discharge(
    request: Request, session: Database, viewer: Acting, form: CheckedForm, client_id: Id
) -> Response:
    if form.get("confirm") != "yes":
        problem = "Tick the box to confirm the discharge."
        return await _refused(request, session, viewer, client_id, problem, status_code=422)

    async def change(client: Client, now: datetime, by: Actor) -> None:
        await actions.discharge(session, client, now=now, by=by)

    return await _act(request, session, viewer, client_id, change, done="discharged")


def _override(text: str) -> tuple[bool, dict[str, Any] | None]:
    """Whether the override typed is a JSON object or empty, and the object (None: empty)."""
    if not text:
        return True, None
    try:
        override = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # nested past Python's stack: not a cadence
        return False, None
    return (True, override) if isinstance(override, dict) else (False, None)


@router.post("/console/clients/{client_id}/cadence")
async def cadence(
    request: Request, session: Database, viewer: Acting, form: CheckedForm, client_id: Id
) -> Response:
    """The client's program, cadence mode and override, whichever of them changed."""
    program, mode = as_id(form.get("program")), _choice(CadenceMode, form.get("mode"))
    readable, override = _override(form.get("override", "").strip())
    if program is None or mode is None or not readable:
        problem = "Choose a program and a mode; the override is a JSON object, or empty."
        return await _refused(request, session, viewer, client_id, problem, status_code=422)
    program_id, chosen_mode = program, mode

    async def change(client: Client, now: datetime, by: Actor) -> None:
        await actions.change_program(session, client, program_id, now=now, by=by)
        await actions.change_mode(session, client, chosen_mode, now=now, by=by)
        await actions.change_override(session, client, override, now=now, by=by)

    return await _act(request, session, viewer, client_id, change, done="cadence", refused_with=422)


@router.post("/console/clients/{client_id}/coordinator")
async def coordinator(
    request: Request, session: Database, viewer: Acting, form: CheckedForm, client_id: Id
) -> Response:
    chosen = form.get("coordinator", "")
    staff_member_id = None if chosen == NO_COORDINATOR else as_id(chosen)
    if chosen != NO_COORDINATOR and staff_member_id is None:
        return await _refused(
            request, session, viewer, client_id, "Choose a coordinator.", status_code=422
        )

    async def change(client: Client, now: datetime, by: Actor) -> None:
        await actions.change_coordinator(session, client, staff_member_id, now=now, by=by)

    handed_away = (
        viewer.role is ConsoleRole.coordinator and staff_member_id != viewer.staff_member_id
    )
    return await _act(
        request,
        session,
        viewer,
        client_id,
        change,
        done="coordinator",
        refused_with=422,
        # Handed over to someone else: no longer this coordinator's to see.
        then=see_other("/console/clients") if handed_away else None,
    )


NO_USERNAME = (
    "Telegram could not tell the bot's username, so no invite was made and the earlier one "
    "still works. Try again in a moment, or set AFTERCARE_TELEGRAM_BOT_USERNAME."
)


@router.post("/console/clients/{client_id}/invite", response_class=HTMLResponse)
async def invite(
    request: Request, session: Database, viewer: Acting, form: CheckedForm, client_id: Id
) -> Response:
    """A new invite, shown once as a link and a QR code (only its digest is kept)."""
    console = console_of(request)
    try:  # before anything changes: without it the new link could not be shown
        username = await console.config.bot_username()
    except (TelegramAPIError, ClientError, TimeoutError, OSError):
        return await _refused(request, session, viewer, client_id, NO_USERNAME, status_code=503)
    client = await _visible(session, viewer, client_id, for_update=True)
    if client is None:
        return _missing(request)
    try:
        issued = await actions.new_invite(
            session,
            client,
            ttl=console.config.invite_ttl,
            now=console.config.clock(),
            by=actor_of(viewer),
        )
    except actions.NotNow as exc:
        return await _refused(request, session, viewer, client_id, str(exc))
    await session.commit()
    link = invite_link(username, issued.token)
    qr = segno.make(link, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title=f"QR code of the invite for {client.code}"
    )
    return console.render(
        request,
        "client_invite.html",
        {"client": client, "link": link, "qr": qr, "expires": issued.invite.expires_at},
    )


@router.post("/console/clients/{client_id}/export")
async def export(
    request: Request, session: Database, viewer: Admin, form: CheckedForm, client_id: Id
) -> Response:
    """Everything held about the client, as a JSON file to download (admins; audited)."""
    client = await _visible(session, viewer, client_id)
    if client is None:
        return _missing(request)
    document = await privacy.export(
        session, client, now=console_of(request).config.clock(), by=actor_of(viewer)
    )
    await session.commit()
    response = JSONResponse(document)
    response.headers["Content-Disposition"] = f'attachment; filename="client-{client.code}.json"'
    return private(response)


@router.post("/console/clients/{client_id}/erase")
async def erase(
    request: Request, session: Database, viewer: Admin, form: CheckedForm, client_id: Id
) -> Response:
    """Erase the client's data on their request (admins; the client's code typed to confirm)."""
    typed = form.get("code", "").strip().upper()

    async def change(client: Client, now: datetime, by: Actor) -> None:
        if client.state is ClientState.erased:
            raise actions.NotNow("The client's data is erased already.")
        if not typed or typed != client.code.upper():
            raise actions.NotNow(f"Type the client's code, {client.code}, to erase their data.")
        await privacy.erase(session, client, now, by=by)

    return await _act(request, session, viewer, client_id, change, done="erased", refused_with=422)
