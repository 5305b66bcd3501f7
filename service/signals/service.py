"""Signals kept: what a client's words, answers or silence say, and the alerts they call for.

Everything here runs in the transaction of the update or tick that found it, so a signal, its
alert and the reply to the client commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.service import raise_alert
from service.clients.models import Client
from service.content.service import Messaging
from service.conversations.models import InboundKind, InboundMessage
from service.signals.classifier import Reading
from service.signals.models import Severity, Signal, SignalKind

ALERT_SEVERITIES: Final = frozenset({Severity.critical, Severity.high, Severity.medium})
TALK: Final = {"change": SignalKind.change_talk, "sustain": SignalKind.sustain_talk}
# Ambivalence that persists: sustain talk in PERSISTS of a client's last TALK_WINDOW replies is
# a low alert with the replies quoted; change talk as often is kept as a strength staff can see.
TALK_WINDOW: Final = 5
PERSISTS: Final = 3
REPLY_KINDS: Final = (InboundKind.text, InboundKind.photo, InboundKind.other)


async def record_signal(
    session: AsyncSession,
    client: Client,
    messaging: Messaging,
    now: datetime,
    *,
    kind: SignalKind,
    severity: Severity,
    evidence: dict[str, Any],
    checkin_id: int | None = None,
    inbound_message_id: int | None = None,
    alert: bool | None = None,
) -> Signal:
    """A signal, and an alert for the care team when ``alert`` says so (by default: when the
    signal is medium or worse)."""
    assert client.id is not None
    signal = Signal(
        client_id=client.id,
        checkin_id=checkin_id,
        inbound_message_id=inbound_message_id,
        kind=kind,
        severity=severity,
        evidence=evidence,
    )
    session.add(signal)
    await session.flush()
    if severity in ALERT_SEVERITIES if alert is None else alert:
        await raise_alert(
            session, client, kind, severity, now=now, messaging=messaging, signal_id=signal.id
        )
    return signal


async def record_reading(
    session: AsyncSession,
    client: Client,
    inbound: InboundMessage,
    reading: Reading,
    *,
    now: datetime,
    messaging: Messaging,
) -> None:
    """What the classifier read in a client's message: a signal per finding, most severe first
    (risks raise or update the client's alert, talk of stopping treatment too), and one for its
    talk type, weighed with the replies before it. A message whose talk is already a finding
    (talk of stopping treatment is sustain talk) has that one signal."""
    talk = TALK.get(reading.talk)
    weighed: dict[str, Any] = {}
    if talk is not None:
        replies = [(inbound.id or 0, talk), *await _earlier_talk(session, client, inbound)]
        alike = [reply for reply, kind in replies if kind == talk]
        if len(alike) >= PERSISTS:
            weighed = {"in_recent_replies": f"{len(alike)} of {len(replies)}", "replies": alike}
    for finding in reading.signals:
        await record_signal(
            session,
            client,
            messaging,
            now,
            kind=SignalKind(finding.kind),
            severity=Severity(finding.severity),
            evidence={"words": finding.evidence} | (weighed if finding.kind == talk else {}),
            inbound_message_id=inbound.id,
            alert=True,
        )
    if talk is None or any(finding.kind == talk for finding in reading.signals):
        return
    persisting = talk == SignalKind.sustain_talk and bool(weighed)
    await record_signal(
        session,
        client,
        messaging,
        now,
        kind=talk,
        severity=Severity.low if persisting else Severity.info,
        evidence={"words": reading.talk_evidence} | weighed,
        inbound_message_id=inbound.id,
        alert=persisting,
    )


async def _earlier_talk(
    session: AsyncSession, client: Client, inbound: InboundMessage
) -> list[tuple[int, SignalKind | None]]:
    """The client's replies before this one (TALK_WINDOW with it), each with its talk type
    (None: neutral). Replies are messages with words; an edit is not a reply of its own."""
    recent = (
        sa.select(col(InboundMessage.id))
        .where(
            col(InboundMessage.client_id) == client.id,
            col(InboundMessage.kind).in_(REPLY_KINDS),
            col(InboundMessage.text).is_not(None),
            col(InboundMessage.id) < (inbound.id or 0),
        )
        .order_by(col(InboundMessage.id).desc())
        .limit(TALK_WINDOW - 1)
        .subquery()
    )
    rows = await session.execute(
        sa.select(recent.c.id, sa.func.max(col(Signal.kind)))
        .outerjoin(
            Signal,
            sa.and_(
                col(Signal.inbound_message_id) == recent.c.id,
                col(Signal.kind).in_(list(TALK.values())),
            ),
        )
        .group_by(recent.c.id)
    )
    return [(reply_id, SignalKind(kind) if kind else None) for reply_id, kind in rows]
