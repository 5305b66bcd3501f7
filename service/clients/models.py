"""Alumni, their consent, and the invites that bring them (and staff) in."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import created_at, enum_text, json_list, json_object, timestamp


class ClientState(StrEnum):
    invited = "invited"  # record made, invite not yet used
    consent_pending = "consent_pending"  # Telegram linked, consent not given yet
    onboarding = "onboarding"  # consented, telling us values, timezone, window
    active = "active"  # receiving check-ins
    paused = "paused"  # asked for a break until paused_until
    opted_out = "opted_out"  # said stop: nothing scheduled, safety net stays
    erased = "erased"  # data deleted on request; the row remains as a tombstone


class StageOfChange(StrEnum):
    precontemplation = "precontemplation"
    contemplation = "contemplation"
    preparation = "preparation"
    action = "action"
    maintenance = "maintenance"


class CadenceMode(StrEnum):
    """How a client's program cadence is adapted to how they are doing."""

    normal = "normal"
    intensive = "intensive"  # after a relapse, a craving spike or missed replies: daily check-ins
    steady = "steady"  # a run of answered check-ins and no risk: the next, sparser phase's days


class Program(SQLModel, table=True):
    """A continuing-care program: the cadence of contact, relative to discharge
    (``service.checkins.cadence.Cadence`` as data)."""

    __tablename__ = "programs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    cadence: dict[str, Any] = json_object()
    created_at: datetime = created_at()


class Client(SQLModel, table=True):
    """An alumnus after discharge. Names stay minimal: a first name and a code for staff."""

    __tablename__ = "clients"
    __table_args__ = (
        # The planner's claim: active clients by next touch, the newly enrolled (none yet) first.
        sa.Index(
            "ix_clients_due",
            sa.text("next_checkin_at NULLS FIRST"),
            postgresql_where=sa.text("state = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    first_name: str = Field(max_length=80)
    state: ClientState = enum_text(ClientState, ClientState.invited, index=True)
    telegram_user_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, unique=True, nullable=True
    )
    telegram_chat_id: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)
    timezone: str = Field(max_length=64)
    language: str = Field(default="en", max_length=8)
    checkin_window_start: time = Field(default=time(9, 0))
    checkin_window_end: time = Field(default=time(12, 0))
    values: list[str] = json_list()
    reasons: dict[str, str] = json_object()  # value (or "own") -> the client's own words
    stage_of_change: StageOfChange | None = enum_text(StageOfChange, nullable=True)
    discharge_date: date | None = None
    sobriety_date: date | None = None
    program_id: int | None = Field(default=None, foreign_key="programs.id", ondelete="SET NULL")
    cadence_override: dict[str, Any] | None = Field(
        default=None,
        sa_type=sa.dialects.postgresql.JSONB,
        nullable=True,
    )
    coordinator_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL", index=True
    )
    cadence_mode: CadenceMode = enum_text(CadenceMode, CadenceMode.normal)
    cadence_mode_until: date | None = None  # the client's date the mode lapses
    next_checkin_at: datetime | None = timestamp()  # indexed for active clients: ix_clients_due
    last_touch_on: date | None = None  # the client's date of the last scheduled touch
    touches: int = Field(default=0)  # scheduled touches so far: turns the program's mix
    missed_in_row: int = Field(default=0)
    answered_in_row: int = Field(default=0)
    paused_until: datetime | None = timestamp()
    unreachable_since: datetime | None = timestamp()  # the client blocked the bot
    created_at: datetime = created_at()
    updated_at: datetime | None = timestamp()


class ConsentDecision(StrEnum):
    granted = "granted"
    declined = "declined"
    withdrawn = "withdrawn"


class ConsentRecord(SQLModel, table=True):
    """What a client agreed to (or not), with the version of the text they were shown."""

    __tablename__ = "consent_records"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", ondelete="CASCADE", index=True)
    decision: ConsentDecision = enum_text(ConsentDecision)
    text_version: str = Field(max_length=32)
    language: str = Field(max_length=8)
    recorded_at: datetime = created_at()


class InviteKind(StrEnum):
    client = "client"
    staff = "staff"


class Invite(SQLModel, table=True):
    """A single-use, expiring link token. Only its SHA-256 is stored."""

    __tablename__ = "invites"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'client' AND client_id IS NOT NULL AND staff_member_id IS NULL)"
            " OR (kind = 'staff' AND staff_member_id IS NOT NULL AND client_id IS NULL)",
            name="one_subject",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: InviteKind = enum_text(InviteKind)
    token_sha256: str = Field(max_length=64, unique=True)
    client_id: int | None = Field(default=None, foreign_key="clients.id", ondelete="CASCADE")
    staff_member_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="CASCADE"
    )
    created_at: datetime = created_at()
    expires_at: datetime = timestamp(nullable=False)
    used_at: datetime | None = timestamp()
    used_by_telegram_user_id: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)


class ClientRecord(Protocol):
    """What reading a client takes: a `Client` row, or the planner's plain copy of one."""

    @property
    def id(self) -> int | None: ...
    @property
    def first_name(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def values(self) -> list[str]: ...
    @property
    def reasons(self) -> dict[str, str]: ...
    @property
    def stage_of_change(self) -> StageOfChange | None: ...
    @property
    def discharge_date(self) -> date | None: ...
    @property
    def sobriety_date(self) -> date | None: ...
    @property
    def coordinator_id(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def checkin_window_start(self) -> time: ...
    @property
    def checkin_window_end(self) -> time: ...
    @property
    def program_id(self) -> int | None: ...
    @property
    def cadence_override(self) -> dict[str, Any] | None: ...
    @property
    def cadence_mode(self) -> CadenceMode: ...
    @property
    def last_touch_on(self) -> date | None: ...
