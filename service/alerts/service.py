"""Alerts for the care team: one per client and episode, routed to the client's coordinator and
the team chat with buttons, acted on from Telegram or the console (the same use cases, so both
show the same state), and every change an alert event.

A staff alert carries the client's code, severity, reason category and a console link; the
client's words only where the deployment enables it (``AFTERCARE_ALERT_MESSAGE_TEXT``), because
Telegram is not a place for health records. Where alerts go and how they escalate is
``Messaging.alerts`` (an `AlertRouting`, from the settings); the escalation tick that walks the
ladder is `service.alerts.escalation`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from html import escape
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.alerts.routing import AlertRouting
from service.bot.callbacks import AlertAction, Button, Keyboard, keyboard
from service.bot.texts import TEXTS, language_of
from service.bot.texts import text as bot_text
from service.clients.models import Client
from service.content.library import Category
from service.content.service import Messaging
from service.content.tailoring import Moment, Profile
from service.conversations.models import InboundMessage
from service.outbox.models import Lane, OutboxMessage
from service.outbox.service import enqueue, enqueue_call
from service.signals.models import Severity, Signal, SignalKind
from service.staff.models import StaffMember

log = logging.getLogger(__name__)

# The staff_alert template for each kind of alert ("alert:" in its header), where the names differ.
TEMPLATE_FOR = {SignalKind.sustain_talk: "ambivalence"}
ESCALATION_TEMPLATE: Final = "escalation"
REASONS = {
    "en": {
        SignalKind.self_harm: "possible self-harm",
        SignalKind.overdose: "possible overdose",
        SignalKind.relapse: "reported use",
        SignalKind.craving: "strong craving",
        SignalKind.help_request: "asked for help",
        SignalKind.sustain_talk: "ambivalence",
        SignalKind.change_talk: "change talk",
        SignalKind.low_scale: "low check-in answer",
        SignalKind.silence: "missed check-ins",
        SignalKind.sos: "used /sos",
    },
    "es": {
        SignalKind.self_harm: "posible autolesión",
        SignalKind.overdose: "posible sobredosis",
        SignalKind.relapse: "reportó consumo",
        SignalKind.craving: "ganas intensas de consumir",
        SignalKind.help_request: "pidió ayuda",
        SignalKind.sustain_talk: "ambivalencia",
        SignalKind.change_talk: "habla de cambio",
        SignalKind.low_scale: "respuesta baja en el seguimiento",
        SignalKind.silence: "seguimientos sin respuesta",
        SignalKind.sos: "usó /sos",
    },
}

SEVERITIES = {
    "en": {severity: severity.value for severity in Severity},
    "es": {
        Severity.critical: "crítica",
        Severity.high: "alta",
        Severity.medium: "media",
        Severity.low: "baja",
        Severity.info: "informativa",
    },
}
RANK: Final = {
    Severity.info: 0,
    Severity.low: 1,
    Severity.medium: 2,
    Severity.high: 3,
    Severity.critical: 4,
}
QUOTE_LIMIT: Final = 1500  # characters of the client's words in an alert (Telegram takes 4096)
NOTE_LIMIT: Final = 4000  # characters of a staff member's note on an alert
# pg_advisory_xact_lock(ALERT_LOCK, client id): one transaction at a time opens or updates a
# client's alert, so two findings at once (the bot and a worker's tick) make one episode.
ALERT_LOCK: Final = 0x616C_7274  # "alrt"
# Alert events that change what an alert's messages show, in the order they happened.
STATE_EVENTS: Final = (
    AlertEventKind.acknowledged,
    AlertEventKind.callback_requested,
    AlertEventKind.resolved,
    AlertEventKind.reopened,
)


class AlertChoice(StrEnum):
    """What a button under an alert does (``AlertAction.action``)."""

    acknowledge = "ack"
    resolve = "resolve"
    call_back = "callback"  # a call back to the client is committed to; counts as acknowledged


EVENT_FOR: Final = {
    AlertChoice.acknowledge: AlertEventKind.acknowledged,
    AlertChoice.resolve: AlertEventKind.resolved,
    AlertChoice.call_back: AlertEventKind.callback_requested,
}


@dataclass(frozen=True)
class Recipient:
    """Someone an alert message goes to: a staff member's chat, or the team chat (no staff)."""

    chat_id: int
    language: str
    staff: StaffMember | None = None
    to: str = "coordinator"  # for the event's detail: coordinator, team_chat, supervisors ...


@dataclass(frozen=True)
class Pressed:
    """The message whose button was pressed, as Telegram showed it (HTML)."""

    chat_id: int
    message_id: int
    html: str


@dataclass(frozen=True)
class Acted:
    changed: bool
    answer: str  # for the person who pressed (plain text, a callback answer's toast)


def toast(language: str, key: str, **values: str) -> str:
    """A bot text as plain text (a button's answer is not HTML)."""
    return TEXTS[language_of(language)][key].format(**values)


def alert_keyboard(alert_id: int, language: str, status: AlertStatus) -> Keyboard | None:
    """The buttons that still apply: all three while open, Resolve once acknowledged."""
    if status == AlertStatus.resolved:
        return None

    def button(choice: AlertChoice, key: str) -> Button:
        data = AlertAction(alert_id=alert_id, action=choice.value).pack()
        return {"text": bot_text(language, key), "callback_data": data}

    resolve = button(AlertChoice.resolve, "alert_resolve")
    if status == AlertStatus.acknowledged:
        return keyboard([[resolve]])
    return keyboard(
        [
            [
                button(AlertChoice.acknowledge, "alert_acknowledge"),
                button(AlertChoice.call_back, "alert_callback"),
            ],
            [resolve],
        ]
    )


async def raise_alert(
    session: AsyncSession,
    client: Client,
    kind: SignalKind,
    severity: Severity,
    *,
    now: datetime,
    messaging: Messaging,
    signal_id: int | None = None,
) -> Alert:
    """Open an alert for the client, or update the one not yet resolved (one per episode).

    A new alert, a finding more severe than the open one, or a critical one after the open one
    was acknowledged or its ladder ran out (the alert takes its kind and severity, and is
    reopened if it was acknowledged) is told to the coordinator and the team chat with buttons,
    and starts the escalation ladder at its severity; any other finding is an ``updated`` event
    only. ``quote`` (else the words of the signal's message) is shown only
    where the deployment enables it.
    """
    assert client.id is not None
    routing = messaging.alerts
    await session.execute(
        sa.select(
            sa.func.pg_advisory_xact_lock(
                sa.literal(ALERT_LOCK, sa.Integer), sa.literal(client.id, sa.Integer)
            )
        )
    )
    alert = await session.scalar(
        sa.select(Alert)
        .where(col(Alert.client_id) == client.id, col(Alert.status) != AlertStatus.resolved)
        .order_by(col(Alert.id).desc())
        .limit(1)
        .with_for_update(key_share=True)
    )
    finding: dict[str, Any] = {"kind": kind.value, "severity": severity.value}
    if alert is None:
        alert = Alert(
            client_id=client.id,
            kind=kind,
            severity=severity,
            summary=REASONS["en"][kind],
            assigned_staff_id=client.coordinator_id,
            opened_at=now,
            updated_at=now,
        )
        session.add(alert)
        await session.flush()
        assert alert.id is not None
        session.add(_event(alert, AlertEventKind.opened, now, signal_id=signal_id, detail=finding))
    else:
        assert alert.id is not None
        alert.updated_at = now
        session.add(_event(alert, AlertEventKind.updated, now, signal_id=signal_id, detail=finding))
        more_severe = RANK[severity] > RANK[Severity(alert.severity)]
        # New danger after the team saw the alert, or after its ladder ran out: tell them again.
        again = severity == Severity.critical and (
            alert.status == AlertStatus.acknowledged or alert.next_escalation_at is None
        )
        if not (more_severe or again):
            return alert
        if alert.status == AlertStatus.acknowledged:
            alert.status = AlertStatus.open
            alert.acknowledged_at = None
            alert.acknowledged_by = None
            reopened = {"severity": severity.value}
            session.add(_event(alert, AlertEventKind.reopened, now, detail=reopened))
        alert.kind = kind
        alert.severity = severity
        alert.summary = REASONS["en"][kind]
    start_ladder(alert, routing, now)
    quote = await quote_of_signal(session, signal_id) if routing.message_text else None
    recipients = await _first_recipients(session, client, routing)
    await notify(session, messaging, client, alert, recipients, now=now, quote=quote)
    return alert


def start_ladder(alert: Alert, routing: AlertRouting, now: datetime) -> None:
    alert.escalation_level = 0
    alert.escalation_started_at = now
    alert.next_escalation_at = routing.ladder.due(
        Severity(alert.severity).value, 0, now, routing.zone
    )


async def _first_recipients(
    session: AsyncSession, client: Client, routing: AlertRouting
) -> list[Recipient]:
    """The client's coordinator (active, with Telegram linked) and the team chat."""
    told: list[Recipient] = []
    coordinator = (
        await session.get(StaffMember, client.coordinator_id) if client.coordinator_id else None
    )
    if coordinator is not None and coordinator.active and coordinator.telegram_chat_id:
        told.append(Recipient(coordinator.telegram_chat_id, coordinator.language, coordinator))
    if routing.team_chat_id is not None:
        told.append(Recipient(routing.team_chat_id, routing.team_language, to="team_chat"))
    return told


async def notify(
    session: AsyncSession,
    messaging: Messaging,
    client: Client,
    alert: Alert,
    recipients: Iterable[Recipient],
    *,
    now: datetime,
    quote: str | None = None,
    escalation: int | None = None,
    meant_for: str = "coordinator_and_team_chat",
) -> list[Recipient]:
    """Queue the alert's message, with its buttons, to each recipient, and record who was told:
    ``notified`` events, or ``escalated`` ones for step ``escalation`` of the ladder. Returns
    those told (a language without the template is skipped); when nobody is, an event says
    so, naming whom the message was ``meant_for``."""
    assert alert.id is not None
    await messaging.library.refresh(session)
    told = []
    for recipient in recipients:
        body = staff_text(
            messaging, recipient, client, alert, now, quote=quote, escalation=escalation is not None
        )
        if body is None:
            continue
        row = await enqueue(
            session,
            chat_id=recipient.chat_id,
            text=body,
            lane=Lane.alert,
            reply_markup=alert_keyboard(alert.id, recipient.language, AlertStatus(alert.status)),
            staff_member_id=recipient.staff.id if recipient.staff else None,
            reason={
                "alert_id": alert.id,
                "kind": SignalKind(alert.kind).value,
                "to": recipient.to,
                **({"escalation": escalation} if escalation is not None else {}),
            },
        )
        detail: dict[str, Any] = {
            "to": recipient.to,
            "chat_id": recipient.chat_id,
            "outbox_id": row.id,
            "severity": Severity(alert.severity).value,
        }
        if escalation is not None:
            detail["level"] = escalation
        session.add(
            _event(
                alert,
                AlertEventKind.escalated if escalation is not None else AlertEventKind.notified,
                now,
                staff_member_id=recipient.staff.id if recipient.staff else None,
                detail=detail,
            )
        )
        told.append(recipient)
    if not told:  # still on record, and in the console's inbox: but nobody in Telegram knows
        log.warning("alert %s: nobody to tell in Telegram (step %s)", alert.id, escalation or 0)
        kind = AlertEventKind.escalated if escalation is not None else AlertEventKind.notified
        detail = {"to": meant_for, "told": "nobody"}
        if escalation is not None:
            detail["level"] = escalation
        session.add(_event(alert, kind, now, detail=detail))
    return told


def staff_text(
    messaging: Messaging,
    recipient: Recipient,
    client: Client,
    alert: Alert,
    now: datetime,
    *,
    quote: str | None = None,
    escalation: bool = False,
) -> str | None:
    """The alert's message in the recipient's language, from the staff_alert templates."""
    kind = SignalKind(alert.kind)
    template = ESCALATION_TEMPLATE if escalation else TEMPLATE_FOR.get(kind, kind.value)
    language = recipient.language if recipient.language in REASONS else "en"
    moment = Moment(Category.staff_alert, now.date(), {"alert": template})
    subject = recipient.staff.id if recipient.staff and recipient.staff.id else 0
    choice = messaging.library.choose(Profile(subject, language), moment, [])
    if choice is None:
        return None
    context = {
        "client_code": client.code,
        "severity": SEVERITIES[language][Severity(alert.severity)],
        "alert_reason": REASONS[language][kind],
        "console_link": f"{messaging.console_url.rstrip('/')}/console/alerts/{alert.id}",
    }
    body = messaging.library.published(choice.meta).source.body
    rendered = messaging.renderer.render(body, context).text
    if quote and messaging.alerts.message_text:
        if len(quote) > QUOTE_LIMIT:
            quote = quote[: QUOTE_LIMIT - 1] + "…"
        rendered += "\n\n" + bot_text(language, "alert_quote", quote=quote)
    return rendered


async def quote_of_signal(session: AsyncSession, signal_id: int | None) -> str | None:
    """The words of the message a signal was found in (None for scale answers, silences, and
    words the retention policy removed)."""
    if signal_id is None:
        return None
    return await session.scalar(
        sa.select(col(InboundMessage.text))
        .join(Signal, col(Signal.inbound_message_id) == col(InboundMessage.id))
        .where(col(Signal.id) == signal_id)
    )


async def quote_of_alert(session: AsyncSession, alert_id: int) -> str | None:
    """The words of the latest message behind an alert, for its escalations."""
    signal_id = await session.scalar(
        sa.select(col(AlertEvent.signal_id))
        .where(col(AlertEvent.alert_id) == alert_id, col(AlertEvent.signal_id).is_not(None))
        .order_by(col(AlertEvent.id).desc())
        .limit(1)
    )
    return await quote_of_signal(session, signal_id)


async def act_on_alert(
    session: AsyncSession,
    alert_id: int,
    choice: AlertChoice,
    staff: StaffMember,
    *,
    now: datetime,
    messaging: Messaging,
    pressed: Pressed | None = None,
    console_user: int | None = None,
) -> Acted:
    """A staff member's button press: acknowledge, resolve, or commit to calling back (which
    acknowledges), in Telegram (``pressed``) or in the console (``console_user``, the console
    account that acted for ``staff``). The alert's messages are edited to show who acted and
    when, without the buttons that no longer apply. A press that cannot count (a second tap, an
    alert already resolved) changes nothing and says how things stand."""
    assert staff.id is not None
    routing = messaging.alerts
    alert = await session.scalar(
        sa.select(Alert).where(col(Alert.id) == alert_id).with_for_update(key_share=True)
    )
    if alert is None:
        return Acted(False, toast(staff.language, "alert_gone"))
    status = AlertStatus(alert.status)
    if status == AlertStatus.resolved or (
        status == AlertStatus.acknowledged and choice is not AlertChoice.resolve
    ):
        lines = await state_lines(session, alert, staff.language, routing)
        state = lines[-1] if lines else ""
        return Acted(False, toast(staff.language, "alert_already", state=state))
    if choice is AlertChoice.resolve:
        alert.status = AlertStatus.resolved
        alert.resolved_at = now
        alert.resolved_by = staff.id
    else:
        alert.status = AlertStatus.acknowledged
        alert.acknowledged_at = now
        alert.acknowledged_by = staff.id
    alert.next_escalation_at = None  # the ladder stops
    alert.updated_at = now
    via = _via(pressed, console_user)
    session.add(_event(alert, EVENT_FOR[choice], now, staff_member_id=staff.id, detail=via))
    await session.flush()
    await show_state(session, alert, messaging, pressed)
    if choice is not AlertChoice.resolve and routing.tell_client_when_seen:
        await _tell_client(session, messaging, alert.client_id, alert)
    return Acted(True, toast(staff.language, f"alert_done_{EVENT_FOR[choice].value}"))


def _via(pressed: Pressed | None, console_user: int | None) -> dict[str, Any]:
    """Where a staff member acted, for the event's detail."""
    if pressed is not None:
        return {"via": "telegram", "chat_id": pressed.chat_id}
    if console_user is not None:
        return {"via": "console", "console_user_id": console_user}
    return {}


async def add_note(
    session: AsyncSession,
    alert_id: int,
    staff: StaffMember,
    text: str,
    *,
    now: datetime,
    console_user: int | None = None,
) -> bool:
    """A staff member's note on the alert, kept in its history (False: no such alert; a
    ValueError for a blank note). The note may hold health information: it stays in the
    event's detail and is never logged."""
    note = text.strip()[:NOTE_LIMIT]
    if not note:
        raise ValueError("a note needs some text")
    alert = await session.get(Alert, alert_id)
    if alert is None:
        return False
    alert.updated_at = now
    detail = {"text": note, **_via(None, console_user)}
    session.add(_event(alert, AlertEventKind.note, now, staff_member_id=staff.id, detail=detail))
    return True


class Reassigned(StrEnum):
    """What came of handing an alert to someone else."""

    done = "done"
    unchanged = "unchanged"  # it was theirs already
    resolved = "resolved"  # a resolved alert stays with whoever had it
    gone = "gone"


async def reassign_alert(
    session: AsyncSession,
    alert_id: int,
    to: StaffMember,
    staff: StaffMember,
    *,
    now: datetime,
    messaging: Messaging,
    console_user: int | None = None,
) -> Reassigned:
    """``staff`` hands the alert to ``to``, who is sent it in Telegram with its buttons (a
    ``notified`` event to the assignee, or one saying nobody could be told)."""
    assert to.id is not None and staff.id is not None
    alert = await session.scalar(
        sa.select(Alert).where(col(Alert.id) == alert_id).with_for_update(key_share=True)
    )
    if alert is None:
        return Reassigned.gone
    if alert.status == AlertStatus.resolved:
        return Reassigned.resolved
    if alert.assigned_staff_id == to.id:
        return Reassigned.unchanged
    detail = {"from": alert.assigned_staff_id, "to": to.id, **_via(None, console_user)}
    alert.assigned_staff_id = to.id
    alert.updated_at = now
    session.add(
        _event(alert, AlertEventKind.reassigned, now, staff_member_id=staff.id, detail=detail)
    )
    client = await session.get(Client, alert.client_id)
    assert client is not None
    told = (
        [Recipient(to.telegram_chat_id, to.language, to, to="assignee")]
        if to.active and to.telegram_chat_id
        else []
    )
    quote = await quote_of_alert(session, alert_id) if messaging.alerts.message_text else None
    await notify(
        session, messaging, client, alert, told, now=now, quote=quote, meant_for="assignee"
    )
    return Reassigned.done


async def state_lines(
    session: AsyncSession, alert: Alert, language: str, routing: AlertRouting
) -> list[str]:
    """Who acted on the alert and when (since it was last reopened), as plain text lines."""
    rows = await session.execute(
        sa.select(col(AlertEvent.kind), col(AlertEvent.created_at), col(StaffMember.name))
        .outerjoin(StaffMember, col(StaffMember.id) == col(AlertEvent.staff_member_id))
        .where(col(AlertEvent.alert_id) == alert.id, col(AlertEvent.kind).in_(STATE_EVENTS))
        .order_by(col(AlertEvent.id))
    )
    lines: list[str] = []
    for kind, at, name in rows:
        if kind == AlertEventKind.reopened:
            lines = []
            continue
        when = at.astimezone(routing.zone).strftime("%H:%M")
        lines.append(toast(language, f"alert_state_{kind.value}", name=name or "?", time=when))
    return lines


async def show_state(
    session: AsyncSession, alert: Alert, messaging: Messaging, pressed: Pressed | None
) -> None:
    """Edit every delivered message of the alert (and the one pressed): its text with who acted
    and when, and the buttons that still apply."""
    assert alert.id is not None
    routing = messaging.alerts
    details = await session.scalars(
        sa.select(col(AlertEvent.detail)).where(
            col(AlertEvent.alert_id) == alert.id,
            col(AlertEvent.kind) == AlertEventKind.delivered,
        )
    )
    outbox_ids = [detail["outbox_id"] for detail in details if "outbox_id" in detail]
    rows = (
        await session.execute(
            sa.select(
                col(OutboxMessage.chat_id),
                col(OutboxMessage.telegram_message_id),
                col(OutboxMessage.payload),
                col(OutboxMessage.staff_member_id),
            ).where(col(OutboxMessage.id).in_(outbox_ids))
        )
    ).all()
    languages = await _languages(session, [row.staff_member_id for row in rows])
    messages: dict[tuple[int, int], tuple[str, str]] = {}  # (chat, message) -> (html, language)
    for row in rows:
        if row.telegram_message_id is not None:
            language = languages.get(row.staff_member_id or 0, routing.team_language)
            messages[(row.chat_id, row.telegram_message_id)] = (row.payload["text"], language)
    if pressed is not None and (pressed.chat_id, pressed.message_id) not in messages:
        language = await _language_of_chat(session, pressed.chat_id, routing)
        messages[(pressed.chat_id, pressed.message_id)] = (pressed.html, language)
    cache: dict[str, list[str]] = {}
    for (chat_id, message_id), (original, language) in messages.items():
        if language not in cache:
            cache[language] = await state_lines(session, alert, language, routing)
        shown = "\n".join(escape(line, quote=False) for line in cache[language])
        payload: dict[str, Any] = {
            "message_id": message_id,
            "text": f"{original}\n\n<b>{shown}</b>" if shown else original,
            "parse_mode": "HTML",
        }
        markup = alert_keyboard(alert.id, language, AlertStatus(alert.status))
        if markup is not None:
            payload["reply_markup"] = markup
        await enqueue_call(
            session, chat_id=chat_id, method="editMessageText", payload=payload, lane=Lane.alert
        )


async def _languages(session: AsyncSession, staff_ids: Sequence[int | None]) -> dict[int, str]:
    ids = {staff_id for staff_id in staff_ids if staff_id is not None}
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(col(StaffMember.id), col(StaffMember.language)).where(
            col(StaffMember.id).in_(ids)
        )
    )
    return {staff_id: language for staff_id, language in rows if staff_id is not None}


async def _language_of_chat(session: AsyncSession, chat_id: int, routing: AlertRouting) -> str:
    language = await session.scalar(
        sa.select(col(StaffMember.language)).where(col(StaffMember.telegram_chat_id) == chat_id)
    )
    return language or routing.team_language


async def _tell_client(
    session: AsyncSession, messaging: Messaging, client_id: int, alert: Alert
) -> None:
    """A warm word to the client that someone on their team has seen their message."""
    client = await session.get(Client, client_id)
    if client is None or client.telegram_chat_id is None or client.unreachable_since:
        return
    await enqueue(
        session,
        chat_id=client.telegram_chat_id,
        text=bot_text(
            client.language, "alert_seen", **messaging.crisis_lines.for_language(client.language)
        ),
        lane=Lane.reply,
        client_id=client.id,
        reason={"category": "alert_seen", "seen_alert": alert.id},
    )


def _event(
    alert: Alert,
    kind: AlertEventKind,
    at: datetime,
    *,
    staff_member_id: int | None = None,
    signal_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AlertEvent:
    assert alert.id is not None
    return AlertEvent(
        alert_id=alert.id,
        kind=kind,
        staff_member_id=staff_member_id,
        signal_id=signal_id,
        detail=detail or {},
        created_at=at,
    )


async def tell_coordinator(
    session: AsyncSession, client: Client, messaging: Messaging, key: str
) -> None:
    """A short note to the client's coordinator in Telegram: the client's code and a link.

    Here rather than with the bot's handlers because the sender, which finds out that a client
    blocked the bot when Telegram answers 403, tells the coordinator too.
    """
    coordinator = (
        await session.get(StaffMember, client.coordinator_id) if client.coordinator_id else None
    )
    if coordinator is not None and coordinator.active and coordinator.telegram_chat_id:
        link = f"{messaging.console_url.rstrip('/')}/console/clients/{client.id}"
        await enqueue(
            session,
            chat_id=coordinator.telegram_chat_id,
            text=bot_text(coordinator.language, key, code=client.code, link=link),
            lane=Lane.alert,
            staff_member_id=coordinator.id,
        )
