"""The outbox: every message to Telegram is a row first, written with the change that caused it."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import big_id, created_at, enum_text, json_object, timestamp


class Lane(IntEnum):
    """Priority lanes, most urgent first: the sender always drains a lower number first."""

    crisis = 0
    alert = 1
    reply = 2
    scheduled = 3


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # gave up after the last attempt, or Telegram refused for good
    cancelled = "cancelled"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index(
            "ix_outbox_messages_due",
            "lane",
            "not_before",
            "id",
            postgresql_where=sa.text("status = 'pending'"),
        ),
        # What a client heard lately (tailoring avoids repeats); also serves the foreign key.
        sa.Index("ix_outbox_messages_client_history", "client_id", "created_at"),
    )

    id: int | None = big_id()
    lane: int = Field(default=Lane.scheduled, sa_type=sa.SmallInteger)
    status: OutboxStatus = enum_text(OutboxStatus, OutboxStatus.pending)
    chat_id: int = Field(sa_type=sa.BigInteger)
    method: str = Field(default="sendMessage", max_length=40)
    payload: dict[str, Any] = json_object()  # Bot API parameters other than chat_id
    client_id: int | None = Field(default=None, foreign_key="clients.id", ondelete="CASCADE")
    staff_member_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    checkin_id: int | None = Field(default=None, foreign_key="checkins.id", ondelete="SET NULL")
    alert_id: int | None = Field(default=None, foreign_key="alerts.id", ondelete="SET NULL")
    template_version_id: int | None = Field(
        default=None, foreign_key="template_versions.id", ondelete="SET NULL"
    )
    reason: dict[str, Any] = json_object()  # why this message and this template were chosen
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    attempts: int = Field(default=0)
    not_before: datetime = created_at()
    created_at: datetime = created_at()
    sent_at: datetime | None = timestamp()
    telegram_message_id: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


# The table itself, for the sender's and the planner's bulk statements in SQLAlchemy Core.
OUTBOX: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
