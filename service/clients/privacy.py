"""A client's data: what is stored about them (/mydata), and erasing it on request (/delete)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert
from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.checkins.models import Checkin
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord
from service.conversations.models import InboundMessage
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


async def erase(session: AsyncSession, client: Client, now: datetime) -> None:
    """Erase what the client wrote and what is stored about them; keep a tombstone.

    What remains: the row with its code and state ``erased`` (so staff see it happened and alerts
    keep their subject), consent records (what was agreed, and now withdrawn), the audit log.
    """
    assert client.id is not None
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
    await record_audit(session, ActorKind.client, "client.erased", "client", client.id)
