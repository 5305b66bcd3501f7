"""The audit log: who looked at or changed what, for staff accountability."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from service.columns import big_id, created_at, enum_text, json_object


class ActorKind(StrEnum):
    console_user = "console_user"
    staff = "staff"
    client = "client"
    system = "system"
    cli = "cli"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = big_id()
    at: datetime = created_at()
    actor_kind: ActorKind = enum_text(ActorKind)
    actor_id: int | None = None
    action: str = Field(max_length=80, index=True)
    subject_type: str = Field(max_length=40)
    subject_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = json_object()  # never message text
