"""The alert inbox: alerts ranked by severity and age with their SLA clock, an alert's page with
its evidence and history, and acting on it: the same use cases as the buttons under the alert in
Telegram, so both show the same state (and the alert's Telegram messages say who acted).

Everything here is limited to the alerts the signed-in user may see (``visible_alerts``): those
of the clients they may see, and the unresolved ones handed to them; any other alert is answered
as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.ladder import Audience, Ladder
from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.alerts.service import (
    EVENT_FOR,
    NOTE_LIMIT,
    RANK,
    REASONS,
    AlertChoice,
    Reassigned,
    act_on_alert,
    add_note,
    reassign_alert,
    state_lines,
    toast,
)
from service.clients.models import Client
from service.console.accounts import SignedIn
from service.conversations.models import InboundMessage
from service.signals.models import Severity, Signal, SignalKind
from service.staff.models import ConsoleRole, StaffMember
from service.web.console import (
    SEVERITIES,
    Acting,
    CheckedForm,
    Database,
    Id,
    Viewer,
    as_id,
    as_number,
    audit,
    console_of,
    see_other,
    staff_members,
    visible_clients,
)

router = APIRouter()

PAGE_SIZE: Final = 50
# The status filter: its choices, in the order the form shows them, and what each one lists.
STATUSES: Final[dict[str, tuple[AlertStatus, ...]]] = {
    "unresolved": (AlertStatus.open, AlertStatus.acknowledged),
    "open": (AlertStatus.open,),
    "acknowledged": (AlertStatus.acknowledged,),
    "resolved": (AlertStatus.resolved,),
    "all": (),
}
AUDIENCES: Final = {Audience.supervisors: "the supervisors", Audience.on_call: "whoever is on call"}
NO_STAFF: Final = (
    "Acting on an alert is recorded under a member of the care team, and your console account "
    "is not linked to an active one. Ask an administrator to link it to your staff member "
    "(aftercare users create --staff ID)."
)
DONE: Final = frozenset(kind.value for kind in EVENT_FOR.values())  # ``?said=`` after a button
VIA: Final = {"console": " (in the console)", "telegram": " (in Telegram)"}
# What a page says after a form (``?said=``): notices, and the problems that changed nothing.
NOTICES: Final = {
    "noted": "Note added.",
    "unchanged": "It was assigned to them already: nothing changed.",
    "resolved_stays": "A resolved alert stays with whoever had it: nothing changed.",
}
PROBLEMS: Final = {
    "empty_note": "Write the note first: nothing was added.",
    "long_note": f"A note can be at most {NOTE_LIMIT} characters: nothing was added.",
    "no_such_staff": "Choose an active member of the care team: nothing changed.",
}


def span(delta: timedelta) -> str:
    """A duration as people say it: "under a minute", "4 min", "1 h 5 min", "2 d 3 h"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@dataclass(frozen=True)
class SlaClock:
    """How long an alert has waited and where it stands on the escalation ladder."""

    age: str  # since it opened
    text: str  # the next step and when, or how long it took to be seen to
    late: bool  # a step is overdue, or the whole ladder went by unacknowledged


def sla_clock(alert: Alert, ladder: Ladder, now: datetime) -> SlaClock:
    age = span(now - alert.opened_at)
    if alert.status == AlertStatus.resolved and alert.resolved_at is not None:
        return SlaClock(age, f"resolved after {span(alert.resolved_at - alert.opened_at)}", False)
    if alert.status == AlertStatus.acknowledged and alert.acknowledged_at is not None:
        took = span(alert.acknowledged_at - alert.opened_at)
        return SlaClock(age, f"acknowledged after {took}", False)
    standing = ladder.standing(
        Severity(alert.severity).value, alert.escalation_level, alert.next_escalation_at
    )
    left = standing.until(now)
    if standing.steps == 0:
        return SlaClock(age, "does not escalate", False)
    if standing.next_step is None or left is None:
        return SlaClock(age, f"escalated {standing.taken} of {standing.steps}, not seen to", True)
    step = f"step {standing.taken + 1} of {standing.steps} ({AUDIENCES[standing.next_step.to]})"
    if left < timedelta(0):
        return SlaClock(age, f"{step} overdue by {span(-left)}", True)
    return SlaClock(age, f"{step} in {span(left)}", False)


def reason(kind: str) -> str:
    return REASONS["en"][SignalKind(kind)]


# --- the inbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilter:
    """The inbox's filters, from the query string (an unknown value is no filter)."""

    status: str = "unresolved"
    severity: str = ""
    kind: str = ""
    mine: bool = False
    assigned: int | None = None  # a staff member's (the team page links to theirs)

    @classmethod
    def of(cls, status: str, severity: str, kind: str, mine: str, assigned: str) -> InboxFilter:
        return cls(
            status=status if status in STATUSES else "unresolved",
            severity=severity if severity in {s.value for s in Severity} else "",
            kind=kind if kind in {k.value for k in SignalKind} else "",
            mine=mine in {"1", "on", "true"},
            assigned=as_id(assigned),
        )

    def conditions(self, viewer: SignedIn) -> list[sa.ColumnElement[bool]]:
        found = [visible_alerts(viewer)]
        if STATUSES[self.status]:
            found.append(col(Alert.status).in_(STATUSES[self.status]))
        if self.severity:
            found.append(col(Alert.severity) == Severity(self.severity))
        if self.kind:
            found.append(col(Alert.kind) == SignalKind(self.kind))
        if self.mine:
            mine = viewer.staff_member_id
            found.append(col(Alert.assigned_staff_id) == mine if mine else sa.false())
        if self.assigned is not None:
            found.append(col(Alert.assigned_staff_id) == self.assigned)
        return found

    def link(self, page: int) -> str:
        """The inbox with these filters at ``page``."""
        query: dict[str, Any] = {
            "status": self.status if self.status != "unresolved" else None,
            "severity": self.severity or None,
            "kind": self.kind or None,
            "mine": "1" if self.mine else None,
            "assigned": self.assigned,
            "page": page if page > 1 else None,
        }
        shown = {key: value for key, value in query.items() if value is not None}
        return "/console/alerts" + (f"?{urlencode(shown)}" if shown else "")


@dataclass(frozen=True)
class InboxRow:
    alert: Alert
    code: str
    first_name: str
    assigned: str | None
    reason: str
    clock: SlaClock


def ranked() -> list[sa.ColumnElement[Any]]:
    """Unresolved first, then the most severe, then the longest waiting."""
    severity = sa.case(
        {severity: rank for severity, rank in RANK.items()},
        value=col(Alert.severity),
        else_=0,
    )
    return [
        (col(Alert.status) == AlertStatus.resolved).asc(),
        severity.desc(),
        col(Alert.opened_at).asc(),
        col(Alert.id).asc(),
    ]


@router.get("/console/alerts", response_class=HTMLResponse)
async def inbox(
    request: Request,
    session: Database,
    viewer: Viewer,
    *,
    status: str = "unresolved",
    severity: str = "",
    kind: str = "",
    mine: str = "",
    assigned: str = "",
    page: str = "1",
    said: str = "",
) -> Response:
    """Alerts of the clients the user may see, ranked, a page at a time: one query and a count."""
    console = console_of(request)
    now = console.config.clock()
    filters = InboxFilter.of(status, severity, kind, mine, assigned)
    where = filters.conditions(viewer)
    total = int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(Alert)
            .join(Client, col(Client.id) == col(Alert.client_id))
            .where(*where)
        )
        or 0
    )
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(as_number(page) or 1, pages)
    rows = await session.execute(
        sa.select(Alert, col(Client.code), col(Client.first_name), col(StaffMember.name))
        .join(Client, col(Client.id) == col(Alert.client_id))
        .outerjoin(StaffMember, col(StaffMember.id) == col(Alert.assigned_staff_id))
        .where(*where)
        .order_by(*ranked())
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
    )
    ladder = console.config.messaging.alerts.ladder
    listed = [
        InboxRow(
            alert, code, first_name, assigned, reason(alert.kind), sla_clock(alert, ladder, now)
        )
        for alert, code, first_name, assigned in rows
    ]
    return console.render(
        request,
        "alerts.html",
        {
            "rows": listed,
            "filters": filters,
            "total": total,
            "page": number,
            "pages": pages,
            "first": (number - 1) * PAGE_SIZE + 1,
            "statuses": list(STATUSES),
            "severities": [s.value for s in SEVERITIES],
            "kinds": [(k.value, REASONS["en"][k]) for k in SignalKind],
            "linked": viewer.staff_member_id is not None,
            "notice": toast("en", f"alert_done_{said}") if said in DONE else None,
        },
    )


# --- an alert -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A signal behind the alert: what was found and the words that triggered it."""

    at: datetime
    reason: str
    severity: str
    evidence: list[tuple[str, str]]


@dataclass(frozen=True)
class Evidence:
    """A message of the client's (or a check-in answer, or a silence) and what was found in it."""

    findings: list[Finding]
    text: str | None  # the client's words, None when there were none
    redacted: bool  # the retention policy removed the words


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    what: str
    note: str | None = None


def evidence_pairs(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    def shown(value: Any) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return str(value)

    return [(key.replace("_", " "), shown(value)) for key, value in evidence.items()]


async def evidence_of(session: AsyncSession, alert_id: int) -> list[Evidence]:
    """The signals the alert was raised and updated with, grouped by the message they were
    found in, oldest first, with that message's text."""
    rows = await session.execute(
        sa.select(Signal, col(InboundMessage.text), col(InboundMessage.redacted_at))
        .outerjoin(InboundMessage, col(InboundMessage.id) == col(Signal.inbound_message_id))
        .where(
            col(Signal.id).in_(
                sa.select(col(AlertEvent.signal_id)).where(
                    col(AlertEvent.alert_id) == alert_id, col(AlertEvent.signal_id).is_not(None)
                )
            )
        )
        .order_by(col(Signal.id))
    )
    grouped: dict[tuple[str, int | None], Evidence] = {}
    for signal, text, redacted_at in rows:
        key = (
            ("message", signal.inbound_message_id) if signal.inbound_message_id else ("", signal.id)
        )
        finding = Finding(
            signal.created_at,
            reason(signal.kind),
            Severity(signal.severity).value,
            evidence_pairs(signal.evidence),
        )
        if key in grouped:
            grouped[key].findings.append(finding)
        else:
            grouped[key] = Evidence([finding], text, redacted_at is not None)
    return list(grouped.values())


def staff_ids(events: Iterable[AlertEvent]) -> set[int]:
    ids: set[int] = set()
    for event in events:
        if event.staff_member_id is not None:
            ids.add(event.staff_member_id)
        if event.kind == AlertEventKind.reassigned:
            ids.update(i for i in (event.detail.get("from"), event.detail.get("to")) if i)
    return ids


def describe(event: AlertEvent, names: dict[int, str]) -> HistoryLine:
    """One event of the alert's history, as a sentence."""
    detail = event.detail

    def name(staff_id: Any) -> str:
        return names.get(staff_id, f"staff {staff_id}") if staff_id else "nobody"

    who = name(event.staff_member_id)
    via = VIA.get(str(detail.get("via")), "")
    kind = AlertEventKind(event.kind)
    finding = (
        f"{reason(detail['kind'])}, {detail['severity']}"
        if "kind" in detail and "severity" in detail
        else ""
    )
    to = str(detail.get("to", "")).replace("_", " ")
    told = who if event.staff_member_id else to
    what = {
        AlertEventKind.opened: f"Opened: {finding}",
        AlertEventKind.updated: f"Another finding: {finding}",
        AlertEventKind.reopened: f"Reopened: more severe ({detail.get('severity', '')})",
        AlertEventKind.acknowledged: f"Acknowledged by {who}{via}",
        AlertEventKind.callback_requested: f"Call back requested by {who}{via}",
        AlertEventKind.resolved: f"Resolved by {who}{via}",
        AlertEventKind.note: f"Note by {who}{via}",
        AlertEventKind.delivered: f"Telegram delivered the message to {told}",
        AlertEventKind.reassigned: (
            f"Reassigned from {name(detail.get('from'))} to {name(detail.get('to'))} by {who}{via}"
        ),
    }.get(kind)
    if kind in {AlertEventKind.notified, AlertEventKind.escalated}:
        step = (
            f"Escalation step {detail.get('level')}: " if kind == AlertEventKind.escalated else ""
        )
        if detail.get("told") == "nobody":
            what = f"{step}nobody to tell in Telegram ({to})"
        else:
            what = f"{step}sent in Telegram to {told}" + (
                f" ({to})" if event.staff_member_id else ""
            )
    note = str(detail.get("text", "")) if kind == AlertEventKind.note else None
    return HistoryLine(event.created_at, what or kind.value, note)


def visible_alerts(viewer: SignedIn) -> sa.ColumnElement[bool]:
    """The alerts a user may see and act on: those of the clients they may see, and those
    handed to them while unresolved (a reassigned alert goes to someone who is not the client's
    coordinator; once it is resolved, or the client is handed over with their open alerts, it
    is the client's coordinator's again)."""
    if viewer.staff_member_id is None:
        return visible_clients(viewer)
    handed = sa.and_(
        col(Alert.assigned_staff_id) == viewer.staff_member_id,
        col(Alert.status) != AlertStatus.resolved,
    )
    return sa.or_(visible_clients(viewer), handed)


async def visible_alert(
    session: AsyncSession, viewer: SignedIn, alert_id: int
) -> tuple[Alert, Client] | None:
    row = (
        await session.execute(
            sa.select(Alert, Client)
            .join(Client, col(Client.id) == col(Alert.client_id))
            .where(col(Alert.id) == alert_id, visible_alerts(viewer))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def can_see(session: AsyncSession, viewer: SignedIn, alert_id: int) -> bool:
    """Whether the alert is one of the user's (its row is not loaded: the use case locks it)."""
    found = await session.scalar(
        sa.select(col(Alert.id))
        .join(Client, col(Client.id) == col(Alert.client_id))
        .where(col(Alert.id) == alert_id, visible_alerts(viewer))
    )
    return found is not None


async def acting_staff(session: AsyncSession, viewer: SignedIn) -> StaffMember | None:
    """The staff member a console user acts as: their linked one, while active."""
    if viewer.staff_member_id is None:
        return None
    member = await session.get(StaffMember, viewer.staff_member_id)
    return member if member is not None and member.active else None


async def acting_on(
    request: Request, session: AsyncSession, viewer: SignedIn, alert_id: int
) -> StaffMember | Response:
    """The staff member a console user acts on the alert as, or the page refusing them: a 404
    when the alert is not one of theirs, a 403 when they are not linked to an active member."""
    if not await can_see(session, viewer, alert_id):
        return missing(request)
    staff = await acting_staff(session, viewer)
    return no_staff(request) if staff is None else staff


def missing(request: Request) -> Response:
    return console_of(request).render(request, "alert_missing.html", status_code=404)


def no_staff(request: Request) -> Response:
    return console_of(request).render(
        request, "forbidden.html", {"reason": NO_STAFF}, status_code=403
    )


def back(alert_id: int, said: str) -> Response:
    return see_other(f"/console/alerts/{alert_id}?{urlencode({'said': said})}")


async def notice_of(
    session: AsyncSession, request: Request, alert: Alert, said: str, assigned: str | None
) -> tuple[str | None, bool]:
    """What the page says after a form: (text, whether it is a problem)."""
    if said in PROBLEMS:
        return PROBLEMS[said], True
    if said in NOTICES:
        return NOTICES[said], False
    if said in DONE:
        return toast("en", f"alert_done_{said}"), False
    if said == "reassigned":
        return f"Reassigned to {assigned or 'nobody'}.", False
    if said == "already":  # as the Telegram button answers a second tap
        routing = console_of(request).config.messaging.alerts
        lines = await state_lines(session, alert, "en", routing)
        return toast("en", "alert_already", state=lines[-1] if lines else alert.status), False
    return None, False


@router.get("/console/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(
    request: Request, alert_id: Id, session: Database, viewer: Viewer, said: str = ""
) -> Response:
    """An alert: its reason, evidence (the client's words, escaped), history, and the forms."""
    console = console_of(request)
    found = await visible_alert(session, viewer, alert_id)
    if found is None:
        return missing(request)
    alert, client = found
    events = (
        await session.scalars(
            sa.select(AlertEvent)
            .where(col(AlertEvent.alert_id) == alert_id)
            .order_by(col(AlertEvent.id))
        )
    ).all()
    ids = staff_ids(events) | {i for i in (alert.assigned_staff_id,) if i}
    names = await staff_names(session, ids)
    evidence = await evidence_of(session, alert_id)
    may_act = viewer.role in {ConsoleRole.admin, ConsoleRole.coordinator}
    actor = await acting_staff(session, viewer) if may_act else None
    team = await staff_members(session) if actor is not None else []
    assigned = names.get(alert.assigned_staff_id or 0)
    notice, problem = await notice_of(session, request, alert, said, assigned)
    await audit(
        session,
        viewer,
        "console.client_messages.viewed",
        "client",
        client.id,
        alert_id=alert_id,
        messages=sum(1 for item in evidence if item.text),
    )
    await session.commit()
    zone = console.config.messaging.alerts.zone
    return console.render(
        request,
        "alert.html",
        {
            "alert": alert,
            "client": client,
            "reason": reason(alert.kind),
            "assigned": assigned,
            "clock": sla_clock(
                alert, console.config.messaging.alerts.ladder, console.config.clock()
            ),
            "evidence": evidence,
            "history": [describe(event, names) for event in events],
            "may_act": may_act,
            "actor": actor,
            "team": team,
            "notice": notice,
            "problem": problem,
            "note_limit": NOTE_LIMIT,
            "no_staff": NO_STAFF,
            "zone": zone,
        },
    )


async def staff_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(col(StaffMember.id), col(StaffMember.name)).where(col(StaffMember.id).in_(wanted))
    )
    return {staff_id: name for staff_id, name in rows if staff_id is not None}


# --- acting on an alert ---------------------------------------------------------------------


async def act(
    request: Request, session: AsyncSession, viewer: SignedIn, alert_id: int, choice: AlertChoice
) -> Response:
    """A button of the alert's, pressed in the console: Telegram's use case, then back."""
    staff = await acting_on(request, session, viewer, alert_id)
    if isinstance(staff, Response):
        return staff
    console = console_of(request)
    acted = await act_on_alert(
        session,
        alert_id,
        choice,
        staff,
        now=console.config.clock(),
        messaging=console.config.messaging,
        console_user=viewer.user_id,
    )
    event = EVENT_FOR[choice].value
    if acted.changed:
        await audit(session, viewer, f"console.alert.{event}", "alert", alert_id)
    await session.commit()
    said = event if acted.changed else "already"
    if not await can_see(session, viewer, alert_id):  # resolved, a handed alert is not theirs
        return see_other(f"/console/alerts?{urlencode({'said': said})}")
    return back(alert_id, said)


@router.post("/console/alerts/{alert_id}/acknowledge")
async def acknowledge(
    request: Request, alert_id: Id, session: Database, viewer: Acting, form: CheckedForm
) -> Response:
    return await act(request, session, viewer, alert_id, AlertChoice.acknowledge)


@router.post("/console/alerts/{alert_id}/callback")
async def call_back(
    request: Request, alert_id: Id, session: Database, viewer: Acting, form: CheckedForm
) -> Response:
    return await act(request, session, viewer, alert_id, AlertChoice.call_back)


@router.post("/console/alerts/{alert_id}/resolve")
async def resolve(
    request: Request, alert_id: Id, session: Database, viewer: Acting, form: CheckedForm
) -> Response:
    return await act(request, session, viewer, alert_id, AlertChoice.resolve)


@router.post("/console/alerts/{alert_id}/note")
async def note(
    request: Request, alert_id: Id, session: Database, viewer: Acting, form: CheckedForm
) -> Response:
    """A note on the alert's history. Its text may be about someone's health: it is kept in
    the alert event only, never in the audit log or the logs."""
    staff = await acting_on(request, session, viewer, alert_id)
    if isinstance(staff, Response):
        return staff
    text = form.get("note", "").strip()
    if not text:
        return back(alert_id, "empty_note")
    if len(text) > NOTE_LIMIT:
        return back(alert_id, "long_note")
    now = console_of(request).config.clock()
    if not await add_note(session, alert_id, staff, text, now=now, console_user=viewer.user_id):
        return missing(request)
    await audit(session, viewer, "console.alert.note_added", "alert", alert_id)
    await session.commit()
    return back(alert_id, "noted")


@router.post("/console/alerts/{alert_id}/reassign")
async def reassign(
    request: Request, alert_id: Id, session: Database, viewer: Acting, form: CheckedForm
) -> Response:
    """Hand the alert to another active member of the care team, who is told in Telegram."""
    staff = await acting_on(request, session, viewer, alert_id)
    if isinstance(staff, Response):
        return staff
    chosen = as_id(form.get("staff"))
    to = await session.get(StaffMember, chosen) if chosen is not None else None
    if to is None or not to.active:
        return back(alert_id, "no_such_staff")
    console = console_of(request)
    outcome = await reassign_alert(
        session,
        alert_id,
        to,
        staff,
        now=console.config.clock(),
        messaging=console.config.messaging,
        console_user=viewer.user_id,
    )
    if outcome is Reassigned.gone:
        return missing(request)
    if outcome is Reassigned.done:
        await audit(session, viewer, "console.alert.reassigned", "alert", alert_id, to=to.id)
    await session.commit()
    said = {
        Reassigned.done: "reassigned",
        Reassigned.unchanged: "unchanged",
        Reassigned.resolved: "resolved_stays",
    }
    return back(alert_id, said[outcome])
