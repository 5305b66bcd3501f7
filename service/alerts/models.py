"""Alerts to the care team, and every change to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import created_at, enum_text, json_object, timestamp
from service.signals.models import Severity, SignalKind


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Alert(SQLModel, table=True):
    """One per client and episode: a burst of worrying messages updates it, not ten new ones."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", ondelete="CASCADE", index=True)
    kind: SignalKind = enum_text(SignalKind)
    severity: Severity = enum_text(Severity)
    status: AlertStatus = enum_text(AlertStatus, AlertStatus.open, index=True)
    summary: str = Field(default="", max_length=500)  # reason category, no message text
    assigned_staff_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    escalation_level: int = Field(default=0)  # the ladder's steps taken so far
    escalation_started_at: datetime | None = timestamp()  # opened, or rose to this severity
    next_escalation_at: datetime | None = timestamp(index=True)  # None: nothing more to climb
    opened_at: datetime = created_at()
    updated_at: datetime | None = timestamp()
    acknowledged_at: datetime | None = timestamp()
    acknowledged_by: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    resolved_at: datetime | None = timestamp()
    resolved_by: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )


class AlertEventKind(StrEnum):
    opened = "opened"  # raised: the first finding of an episode
    updated = "updated"  # another finding while it is not resolved (detail: kind, severity)
    notified = "notified"  # a message about it queued to someone (detail: chat, outbox row)
    delivered = "delivered"  # Telegram accepted one of those messages (written by the sender)
    escalated = "escalated"  # a step of the ladder told someone (detail: level, audience)
    acknowledged = "acknowledged"
    callback_requested = "callback_requested"  # a call back to the client was committed to
    resolved = "resolved"
    reopened = "reopened"  # a more severe finding after it was acknowledged
    note = "note"  # a staff member's note (detail: text, which is never logged)
    reassigned = "reassigned"  # someone else is to see to it (detail: from, to staff ids)


class AlertEvent(SQLModel, table=True):
    """Who did what to an alert, and when."""

    __tablename__ = "alert_events"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", ondelete="CASCADE", index=True)
    kind: AlertEventKind = enum_text(AlertEventKind)
    staff_member_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    signal_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="signals.id", ondelete="SET NULL"
    )
    detail: dict[str, Any] = json_object()
    created_at: datetime = created_at()
