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
    escalation_level: int = Field(default=0)
    next_escalation_at: datetime | None = timestamp(index=True)
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
    opened = "opened"
    updated = "updated"
    notified = "notified"
    escalated = "escalated"
    acknowledged = "acknowledged"
    resolved = "resolved"
    reopened = "reopened"
    note = "note"


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
