"""Signals: what a reply, a scale answer or a silence says about how a client is doing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import big_id, created_at, enum_text, json_object


class SignalKind(StrEnum):
    self_harm = "self_harm"
    overdose = "overdose"
    relapse = "relapse"
    craving = "craving"
    help_request = "help_request"
    sustain_talk = "sustain_talk"
    change_talk = "change_talk"
    low_scale = "low_scale"  # mood or confidence low, craving high on a 0-10 scale
    silence = "silence"  # consecutive missed check-ins
    sos = "sos"  # the client used /sos


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


class Signal(SQLModel, table=True):
    __tablename__ = "signals"
    __table_args__ = (
        # A message's signals: retention strips their words, and deleting a message (erasure)
        # clears the reference, without reading every signal.
        sa.Index(
            "ix_signals_inbound_message_id",
            "inbound_message_id",
            postgresql_where=sa.text("inbound_message_id IS NOT NULL"),
        ),
    )

    id: int | None = big_id()
    client_id: int = Field(foreign_key="clients.id", ondelete="CASCADE", index=True)
    inbound_message_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="inbound_messages.id", ondelete="SET NULL"
    )
    checkin_id: int | None = Field(default=None, foreign_key="checkins.id", ondelete="SET NULL")
    kind: SignalKind = enum_text(SignalKind)
    severity: Severity = enum_text(Severity)
    evidence: dict[str, Any] = json_object()  # the words or answers that triggered it, and rules
    created_at: datetime = created_at()
