"""Check-ins: a question sent to a client, and what came of it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from service.columns import created_at, enum_text, json_object, timestamp


class CheckinKind(StrEnum):
    open_question = "open_question"
    scale = "scale"
    weekly = "weekly"  # the structured, BAM-informed one
    affirmation = "affirmation"
    self_efficacy = "self_efficacy"
    milestone = "milestone"
    follow_up = "follow_up"
    on_request = "on_request"  # the client asked with /checkin


class CheckinStatus(StrEnum):
    planned = "planned"
    sent = "sent"
    answered = "answered"
    missed = "missed"
    cancelled = "cancelled"


class Checkin(SQLModel, table=True):
    __tablename__ = "checkins"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", ondelete="CASCADE", index=True)
    kind: CheckinKind = enum_text(CheckinKind)
    status: CheckinStatus = enum_text(CheckinStatus, CheckinStatus.planned, index=True)
    local_date: date  # the client's calendar date it belongs to
    scheduled_for: datetime = timestamp(nullable=False)
    sent_at: datetime | None = timestamp()
    answered_at: datetime | None = timestamp()
    follow_up_at: datetime | None = timestamp()
    template_version_id: int | None = Field(
        default=None, foreign_key="template_versions.id", ondelete="SET NULL"
    )
    answers: dict[str, Any] = json_object()  # scale name -> value, for one-tap questions
    created_at: datetime = created_at()
