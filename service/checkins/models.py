"""Check-ins: a question sent to a client, and what came of it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import created_at, enum_text, json_object, timestamp


class CheckinKind(StrEnum):
    open_question = "open_question"
    scale = "scale"
    weekly = "weekly"  # the structured, BAM-informed one
    affirmation = "affirmation"
    self_efficacy = "self_efficacy"
    values_reflection = "values_reflection"
    change_talk = "change_talk"
    milestone = "milestone"
    follow_up = "follow_up"
    on_request = "on_request"  # the client asked with /checkin


# The planner's touches: at most one of these per client and local date (a unique index).
SCHEDULED_KINDS = tuple(
    kind for kind in CheckinKind if kind not in {CheckinKind.follow_up, CheckinKind.on_request}
)


class CheckinStatus(StrEnum):
    planned = "planned"
    sent = "sent"
    answered = "answered"
    missed = "missed"
    cancelled = "cancelled"


class Checkin(SQLModel, table=True):
    __tablename__ = "checkins"
    __table_args__ = (
        sa.Index(
            "uq_checkins_one_touch_a_day",
            "client_id",
            "local_date",
            unique=True,
            postgresql_where=sa.text(
                "kind IN (" + ", ".join(f"'{kind}'" for kind in SCHEDULED_KINDS) + ")"
            ),
        ),
        sa.Index(
            "ix_checkins_awaiting_reply",
            "sent_at",
            postgresql_where=sa.text("status = 'sent'"),
        ),
        # Response rates (the console's engagement page): a client's sent check-ins, read from
        # the index alone.
        sa.Index(
            "ix_checkins_client_sent",
            "client_id",
            "sent_at",
            postgresql_include=["local_date", "answered_at", "status"],
            postgresql_where=sa.text("sent_at IS NOT NULL"),
        ),
    )

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


class CadenceChange(SQLModel, table=True):
    """Why a client's cadence changed: the planner adapting it, or a coordinator overriding it."""

    __tablename__ = "cadence_changes"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", ondelete="CASCADE", index=True)
    mode_from: str = Field(max_length=20)
    mode_to: str = Field(max_length=20)
    until: date | None = None
    reason: dict[str, Any] = json_object()  # the rule and the facts that triggered it
    staff_member_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at()
