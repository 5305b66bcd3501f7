"""Signed-in sessions of the console and the sign-in attempts that throttle guessing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import big_id, enum_text


class ConsoleSession(SQLModel, table=True):
    """A browser signed in as a console user. The cookie holds a random token; the row only
    its SHA-256, so a copy of the database signs nobody in."""

    __tablename__ = "console_sessions"

    id: int | None = big_id()
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="console_users.id", ondelete="CASCADE", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    last_seen_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # the absolute lifetime


class AttemptOutcome(StrEnum):
    succeeded = "succeeded"
    failed = "failed"  # a wrong password, an unknown or disabled account
    locked = "locked"  # refused without checking: the email was locked out


class LoginAttempt(SQLModel, table=True):
    """One try at signing in, by email (as typed, lowercased) and client address: the counters
    of lockout and throttling, shared by every web process. Never the password."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_at", "email", "at"),
        sa.Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: int | None = big_id()
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    email: str = Field(max_length=254)
    ip: str = Field(max_length=64)
    outcome: AttemptOutcome = enum_text(AttemptOutcome)
    locked_out: bool = Field(default=False)  # this failure started a lockout
