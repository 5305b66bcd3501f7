"""What clients and staff write to the bot, and where each conversation stands."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import big_id, created_at, enum_text, json_object, timestamp


class InboundKind(StrEnum):
    text = "text"
    command = "command"
    callback = "callback"
    edited = "edited"
    sticker = "sticker"
    voice = "voice"
    photo = "photo"
    membership = "membership"  # the person blocked or unblocked the bot
    other = "other"


class InboundMessage(SQLModel, table=True):
    """One update from Telegram, recorded before it is acknowledged. Never lost, never twice."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        # A client's messages by time: the console's timeline and "last reply".
        sa.Index("ix_inbound_messages_client_received", "client_id", "received_at"),
    )

    id: int | None = big_id()
    update_id: int = Field(sa_type=sa.BigInteger, unique=True)
    telegram_user_id: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)
    chat_id: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True, index=True)
    client_id: int | None = Field(default=None, foreign_key="clients.id", ondelete="CASCADE")
    staff_member_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    checkin_id: int | None = Field(default=None, foreign_key="checkins.id", ondelete="SET NULL")
    kind: InboundKind = enum_text(InboundKind)
    text: str | None = Field(default=None, sa_type=sa.Text)
    sent_at: datetime | None = timestamp()  # when the person sent it, by Telegram's clock
    received_at: datetime = created_at()
    redacted_at: datetime | None = timestamp()  # text removed by the retention policy


class ConversationState(SQLModel, table=True):
    """Where a chat's conversation stands (the bot's finite-state machine), keyed per chat."""

    __tablename__ = "conversation_states"

    key: str = Field(primary_key=True, max_length=200)
    state: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = json_object()
    updated_at: datetime | None = timestamp()
