"""Care-team members (in Telegram) and console users (in the browser)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import created_at, enum_text, timestamp


class StaffRole(StrEnum):
    coordinator = "coordinator"
    supervisor = "supervisor"
    admin = "admin"


class StaffMember(SQLModel, table=True):
    """A person on the care team who receives alerts in Telegram."""

    __tablename__ = "staff_members"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    role: StaffRole = enum_text(StaffRole, StaffRole.coordinator)
    telegram_user_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, unique=True, nullable=True
    )
    telegram_chat_id: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)
    language: str = Field(default="en", max_length=8)
    active: bool = Field(default=True)
    on_call: bool = Field(default=False)  # told by the escalation ladder's on-call steps
    created_at: datetime = created_at()
    linked_at: datetime | None = timestamp()


class ConsoleRole(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    viewer = "viewer"


class ConsoleUser(SQLModel, table=True):
    """Someone who signs in to the web console."""

    __tablename__ = "console_users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    role: ConsoleRole = enum_text(ConsoleRole, ConsoleRole.viewer)
    staff_member_id: int | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    active: bool = Field(default=True)
    created_at: datetime = created_at()
    last_login_at: datetime | None = timestamp()
