"""A client's data: what is stored about them (/mydata), erasing it on request (/delete, the
console, ``aftercare clients erase``) and exporting all of it (the console, ``aftercare clients
export``). The retention policy is ``service.clients.retention``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent
from service.audit.models import ActorKind, AuditEntry
from service.audit.service import Actor, record_audit
from service.checkins.models import CadenceChange, Checkin
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord, Invite
from service.conversations.models import ConversationState, InboundMessage
from service.outbox.models import OutboxMessage
from service.signals.models import Signal


@dataclass(frozen=True)
class StoredData:
    client: Client
    consent: ConsentRecord | None
    inbound: int
    outbound: int


async def stored_data(session: AsyncSession, client: Client) -> StoredData:
    consent = await session.scalar(
        sa.select(ConsentRecord)
        .where(col(ConsentRecord.client_id) == client.id)
        .order_by(col(ConsentRecord.id).desc())
        .limit(1)
    )
    inbound = await session.scalar(
        sa.select(sa.func.count()).where(col(InboundMessage.client_id) == client.id)
    )
    outbound = await session.scalar(
        sa.select(sa.func.count()).where(col(OutboxMessage.client_id) == client.id)
    )
    await record_audit(session, ActorKind.client, "client.viewed_own_data", "client", client.id)
    return StoredData(client, consent, inbound or 0, outbound or 0)


CLIENT = Actor(ActorKind.client)


async def erase(
    session: AsyncSession, client: Client, now: datetime, *, by: Actor = CLIENT
) -> None:
    """Erase what the client wrote and what is stored about them; keep a tombstone.

    What remains: the row with its code and state ``erased`` (so staff see it happened and alerts
    keep their subject), consent records (what was agreed, and now withdrawn), the audit log.
    ``by``: the client themselves (/delete), or a console user or the command line acting on
    their request.
    """
    assert client.id is not None
    if client.telegram_chat_id is not None and client.telegram_user_id is not None:
        # Onboarding answers in progress (aiogram's key: fsm:<chat>:<user>:<destiny>).
        await session.execute(
            sa.delete(ConversationState).where(
                col(ConversationState.key).like(
                    f"fsm:{client.telegram_chat_id}:{client.telegram_user_id}:%"
                )
            )
        )
    for table in (InboundMessage, Signal, Checkin, OutboxMessage):
        await session.execute(sa.delete(table).where(col(table.client_id) == client.id))
    # The care team's alert messages, which may quote the client (AFTERCARE_ALERT_MESSAGE_TEXT);
    # the alerts' events keep who was told and when.
    alerts = sa.select(sa.cast(col(Alert.id), sa.Text)).where(col(Alert.client_id) == client.id)
    await session.execute(
        sa.delete(OutboxMessage).where(col(OutboxMessage.reason)["alert_id"].astext.in_(alerts))
    )
    session.add(
        ConsentRecord(
            client_id=client.id,
            decision=ConsentDecision.withdrawn,
            text_version="erasure",
            language=client.language,
        )
    )
    client.state = ClientState.erased
    client.first_name = ""
    client.values = []
    client.reasons = {}
    client.telegram_user_id = None
    client.telegram_chat_id = None
    client.discharge_date = None
    client.sobriety_date = None
    client.next_checkin_at = None
    client.paused_until = None
    client.updated_at = now
    await record_audit(session, by.kind, "client.erased", "client", client.id, actor_id=by.id)


EXPORT_FORMAT = "aftercare.client-export/1"


def _row(row: Any, *, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A row as JSON values (times in ISO 8601, enums as their values)."""
    dumped: dict[str, Any] = row.model_dump(mode="json")
    return {key: value for key, value in dumped.items() if key not in without}


def _sent(message: OutboxMessage) -> dict[str, Any]:
    """What was sent: the words (None once redacted), not the Bot API's other parameters."""
    payload = message.payload
    return {
        **_row(message, without=frozenset({"payload", "dedupe_key", "last_error", "chat_id"})),
        "text": payload.get("text", payload.get("caption")),
        "redacted_at": payload.get("redacted_at"),
    }


async def export(
    session: AsyncSession, client: Client, *, now: datetime, by: Actor
) -> dict[str, Any]:
    """Everything the service holds about one client, as one JSON document: the profile, consent,
    invites (never their token's digest), what they wrote (text unless redacted), what was sent
    to them, check-ins, cadence changes, signals, alerts with their events, and who looked at or
    changed their record (the audit log). Audited as ``client.exported``; the caller commits."""
    assert client.id is not None

    async def rows(model: Any, *where: Any, order: Any) -> list[Any]:
        return list(await session.scalars(sa.select(model).where(*where).order_by(order)))

    mine = client.id
    inbound = await rows(
        InboundMessage, col(InboundMessage.client_id) == mine, order=col(InboundMessage.id)
    )
    sent = await rows(
        OutboxMessage, col(OutboxMessage.client_id) == mine, order=col(OutboxMessage.id)
    )
    alerts = await rows(Alert, col(Alert.client_id) == mine, order=col(Alert.id))
    events: dict[int, list[dict[str, Any]]] = {}
    for event in await rows(
        AlertEvent,
        col(AlertEvent.alert_id).in_([alert.id for alert in alerts]),
        order=col(AlertEvent.id),
    ):
        events.setdefault(event.alert_id, []).append(_row(event))
    access = await rows(
        AuditEntry,
        col(AuditEntry.subject_type) == "client",
        col(AuditEntry.subject_id) == str(mine),
        order=col(AuditEntry.id),
    )
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "client": _row(client),
        "consent": [
            _row(record)
            for record in await rows(
                ConsentRecord, col(ConsentRecord.client_id) == mine, order=col(ConsentRecord.id)
            )
        ],
        "invites": [
            _row(invite, without=frozenset({"token_sha256"}))
            for invite in await rows(Invite, col(Invite.client_id) == mine, order=col(Invite.id))
        ],
        "messages_received": [_row(message, without=frozenset({"chat_id"})) for message in inbound],
        "messages_sent": [_sent(message) for message in sent],
        "checkins": [
            _row(checkin)
            for checkin in await rows(
                Checkin, col(Checkin.client_id) == mine, order=col(Checkin.id)
            )
        ],
        "cadence_changes": [
            _row(change)
            for change in await rows(
                CadenceChange, col(CadenceChange.client_id) == mine, order=col(CadenceChange.id)
            )
        ],
        "signals": [
            _row(signal)
            for signal in await rows(Signal, col(Signal.client_id) == mine, order=col(Signal.id))
        ],
        "alerts": [{**_row(alert), "events": events.get(alert.id or 0, [])} for alert in alerts],
        "access_log": [_row(entry) for entry in access],
    }
    await record_audit(
        session,
        by.kind,
        "client.exported",
        "client",
        client.id,
        detail={"messages_received": len(inbound), "messages_sent": len(sent)},
        actor_id=by.id,
    )
    return document
