"""Raising alerts for the care team: one per client and episode, told to their coordinator.

This is the path every alert takes; the escalation ladder and routing to the team chat build on
it. A staff alert carries the client's code, severity, reason category and a console link, never
the client's name or words (Telegram is not a place for health records).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.bot.texts import text as bot_text
from service.clients.models import Client
from service.content.library import Category
from service.content.service import Messaging
from service.content.tailoring import Moment, Profile
from service.outbox.models import Lane
from service.outbox.service import enqueue
from service.signals.models import Severity, SignalKind
from service.staff.models import StaffMember

# The staff_alert template for each kind of alert ("alert:" in its header), where the names differ.
TEMPLATE_FOR = {SignalKind.sustain_talk: "ambivalence"}
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
    """Open an alert (or update the open one of this kind) and tell the client's coordinator."""
    assert client.id is not None
    alert = await session.scalar(
        sa.select(Alert)
        .where(
            col(Alert.client_id) == client.id,
            col(Alert.kind) == kind,
            col(Alert.status) != AlertStatus.resolved,
        )
        .with_for_update()
    )
    if alert is not None:
        alert.updated_at = now
        assert alert.id is not None
        session.add(AlertEvent(alert_id=alert.id, kind=AlertEventKind.updated, signal_id=signal_id))
        return alert
    alert = Alert(
        client_id=client.id,
        kind=kind,
        severity=severity,
        summary=REASONS["en"][kind],
        assigned_staff_id=client.coordinator_id,
        updated_at=now,
    )
    session.add(alert)
    await session.flush()
    assert alert.id is not None
    session.add(AlertEvent(alert_id=alert.id, kind=AlertEventKind.opened, signal_id=signal_id))
    coordinator = (
        await session.get(StaffMember, client.coordinator_id) if client.coordinator_id else None
    )
    if coordinator is not None and coordinator.active and coordinator.telegram_chat_id:
        await messaging.library.refresh(session)
        text = _staff_text(messaging, coordinator, client, alert, now)
        if text is not None:
            await enqueue(
                session,
                chat_id=coordinator.telegram_chat_id,
                text=text,
                lane=Lane.alert,
                staff_member_id=coordinator.id,
                reason={"alert_id": alert.id, "kind": kind.value},
            )
            session.add(
                AlertEvent(
                    alert_id=alert.id,
                    kind=AlertEventKind.notified,
                    staff_member_id=coordinator.id,
                )
            )
    return alert


def _staff_text(
    messaging: Messaging, coordinator: StaffMember, client: Client, alert: Alert, now: datetime
) -> str | None:
    kind = SignalKind(alert.kind)
    moment = Moment(Category.staff_alert, now.date(), {"alert": TEMPLATE_FOR.get(kind, kind.value)})
    choice = messaging.library.choose(
        Profile(coordinator.id or 0, coordinator.language), moment, []
    )
    if choice is None:
        return None
    language = coordinator.language if coordinator.language in REASONS else "en"
    context = {
        "client_code": client.code,
        "severity": SEVERITIES[language][Severity(alert.severity)],
        "alert_reason": REASONS[language][SignalKind(alert.kind)],
        "console_link": f"{messaging.console_url.rstrip('/')}/alerts/{alert.id}",
    }
    body = messaging.library.published(choice.meta).source.body
    return messaging.renderer.render(body, context).text


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
        link = f"{messaging.console_url}/clients/{client.id}"
        await enqueue(
            session,
            chat_id=coordinator.telegram_chat_id,
            text=bot_text(coordinator.language, key, code=client.code, link=link),
            lane=Lane.alert,
            staff_member_id=coordinator.id,
        )
