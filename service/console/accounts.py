"""Console accounts: creating and disabling users, signing in and out, and resuming a session.

Each function here is a use case and commits its own work. Sign-in attempts are rows
(``login_attempts``), so every web process counts the same failures: five failures for one email
within the window lock it for the lockout time, even against the right password, and one client
address gets a limited number of attempts per window whatever the emails.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.columns import utcnow
from service.config import Settings
from service.console.models import AttemptOutcome, ConsoleSession, LoginAttempt
from service.console.passwords import (
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from service.errors import AccountError
from service.staff.models import ConsoleRole, ConsoleUser, StaffMember

log = logging.getLogger(__name__)

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class AccessPolicy:
    """How long sessions last and how sign-in guessing is held back."""

    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)
    failures_to_lock: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    attempts_per_address: int = 20
    address_window: timedelta = timedelta(minutes=15)
    # last_seen_at is written at most this often: a page view is not always a write.
    touch_every: timedelta = timedelta(minutes=1)
    # Sign-in attempts are kept this long, well past every window that counts them (the audit
    # log keeps the record of sign-ins and failures).
    attempts_kept: timedelta = timedelta(days=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(
            idle=timedelta(minutes=settings.console_idle_minutes),
            lifetime=timedelta(hours=settings.console_session_hours),
        )


def normal_email(email: str) -> str:
    return email.strip().lower()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- accounts (the command line) ------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    role: ConsoleRole,
    password: str,
    staff_member_id: int | None = None,
) -> ConsoleUser:
    email = normal_email(email)
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an email address.")
    password_hash = await asyncio.to_thread(hash_password, password)  # WeakPassword first
    taken = await session.scalar(
        sa.select(col(ConsoleUser.id)).where(col(ConsoleUser.email) == email)
    )
    if taken is not None:
        raise AccountError(f"There is a console user with the email {email} already.")
    if staff_member_id is not None and await session.get(StaffMember, staff_member_id) is None:
        raise AccountError(f"There is no staff member with id {staff_member_id}.")
    user = ConsoleUser(
        email=email, password_hash=password_hash, role=role, staff_member_id=staff_member_id
    )
    session.add(user)
    await session.flush()
    await record_audit(
        session,
        ActorKind.cli,
        "console_user.created",
        "console_user",
        user.id,
        detail={"role": role.value, "staff_member_id": staff_member_id},
    )
    await session.commit()
    return user


async def set_password(
    session: AsyncSession,
    user: ConsoleUser,
    password: str,
    *,
    actor: ActorKind,
    actor_id: int | None = None,
    keep_session_id: int | None = None,
) -> int:
    """A new password for ``user`` (checked for strength first). Every other session of theirs
    ends, so a stolen session does not outlive the change; the number ended."""
    user.password_hash = await asyncio.to_thread(hash_password, password)
    ended = await session.execute(
        sa.delete(ConsoleSession).where(
            col(ConsoleSession.user_id) == user.id, col(ConsoleSession.id) != keep_session_id
        )
    )
    count = int(ended.rowcount)  # type: ignore[attr-defined]
    await record_audit(
        session,
        actor,
        "console_user.password_changed",
        "console_user",
        user.id,
        detail={"sessions_ended": count},
        actor_id=actor_id,
    )
    await session.commit()
    return count


async def reset_password(session: AsyncSession, email: str, password: str) -> ConsoleUser:
    """`aftercare users password EMAIL`: an administrator sets a forgotten password."""
    user = await _user_by_email(session, email)
    await set_password(session, user, password, actor=ActorKind.cli)
    return user


async def change_password(
    session: AsyncSession, signed_in: SignedIn, current: str, new: str
) -> None:
    """A signed-in user changes their own password, knowing the current one; the session they
    change it from stays signed in."""
    user = await session.get(ConsoleUser, signed_in.user_id, with_for_update=True)
    assert user is not None
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        raise AccountError("The current password is not right.")
    if new == current:
        raise AccountError("The new password is the same as the current one.")
    await set_password(
        session,
        user,
        new,
        actor=ActorKind.console_user,
        actor_id=user.id,
        keep_session_id=signed_in.session_id,
    )


async def _user_by_email(session: AsyncSession, email: str) -> ConsoleUser:
    email = normal_email(email)
    user = await session.scalar(
        sa.select(ConsoleUser).where(col(ConsoleUser.email) == email).with_for_update()
    )
    if user is None:
        raise AccountError(f"There is no console user with the email {email}.")
    return user


async def disable_user(session: AsyncSession, email: str) -> ConsoleUser:
    """The user can no longer sign in, and their open sessions end now."""
    user = await _user_by_email(session, email)
    ended = await session.execute(
        sa.delete(ConsoleSession).where(col(ConsoleSession.user_id) == user.id)
    )
    if user.active:
        user.active = False
        await record_audit(
            session,
            ActorKind.cli,
            "console_user.disabled",
            "console_user",
            user.id,
            detail={"sessions_ended": ended.rowcount},  # type: ignore[attr-defined]
        )
    await session.commit()
    return user


# --- signing in -----------------------------------------------------------------------------


class SignInOutcome(StrEnum):
    signed_in = "signed_in"
    refused = "refused"  # wrong password, unknown or disabled account: one answer for all
    locked = "locked"  # too many failures for this email
    throttled = "throttled"  # too many attempts from this address


@dataclass(frozen=True)
class SignIn:
    outcome: SignInOutcome
    token: str | None = None  # for the cookie, when signed in; never stored
    user_id: int | None = None


async def sign_in(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    ip: str,
    now: datetime,
    policy: AccessPolicy,
) -> SignIn:
    email = normal_email(email)[:254]
    ip = ip[:64]
    # One sign-in per email at a time, across processes: two failures cannot both miss the lock.
    await session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("console-sign-in:" + email)))
    )
    from_address = await session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginAttempt)
        .where(col(LoginAttempt.ip) == ip, col(LoginAttempt.at) > now - policy.address_window)
    )
    if (from_address or 0) >= policy.attempts_per_address:
        await session.rollback()
        log.warning("console sign-in refused: too many attempts from one address")
        return SignIn(SignInOutcome.throttled)

    last_lockout = await session.scalar(
        sa.select(sa.func.max(col(LoginAttempt.at))).where(
            col(LoginAttempt.email) == email, col(LoginAttempt.locked_out)
        )
    )
    if last_lockout is not None and last_lockout > now - policy.lockout:
        session.add(LoginAttempt(at=now, email=email, ip=ip, outcome=AttemptOutcome.locked))
        await session.commit()
        return SignIn(SignInOutcome.locked)

    user = await session.scalar(sa.select(ConsoleUser).where(col(ConsoleUser.email) == email))
    usable = user is not None and user.active
    stored = user.password_hash if user is not None and usable else dummy_hash()
    matches = await asyncio.to_thread(verify_password, stored, password)
    if user is not None and usable and matches:
        return await _signed_in(session, user, password, email=email, ip=ip, now=now, policy=policy)

    since = now - policy.failure_window
    if last_lockout is not None:
        since = max(since, last_lockout)
    earlier = await session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginAttempt)
        .where(
            col(LoginAttempt.email) == email,
            col(LoginAttempt.outcome) == AttemptOutcome.failed,
            col(LoginAttempt.at) > since,
        )
    )
    locks = (earlier or 0) + 1 >= policy.failures_to_lock
    session.add(
        LoginAttempt(at=now, email=email, ip=ip, outcome=AttemptOutcome.failed, locked_out=locks)
    )
    user_id = user.id if user is not None else None
    await record_audit(
        session,
        ActorKind.console_user,
        "console.login_failed",
        "console_user",
        user_id,
        actor_id=user_id,
        # Not the email as typed: a password typed into the email field would be kept for good
        # (login_attempts keeps it a day, for the lockout).
        detail={"known_user": user is not None, "ip": ip},
    )
    if locks:
        await record_audit(
            session,
            ActorKind.system,
            "console.lockout",
            "console_user",
            user_id,
            detail={"minutes": int(policy.lockout.total_seconds() // 60)},
        )
        log.warning(
            "console sign-ins locked for one email after %d failures", policy.failures_to_lock
        )
    else:
        log.info("a console sign-in failed (user %s)", user_id or "unknown")
    await session.commit()
    return SignIn(SignInOutcome.locked if locks else SignInOutcome.refused, user_id=user_id)


async def _signed_in(
    session: AsyncSession,
    user: ConsoleUser,
    password: str,
    *,
    email: str,
    ip: str,
    now: datetime,
    policy: AccessPolicy,
) -> SignIn:
    assert user.id is not None
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=token_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime,
        )
    )
    session.add(LoginAttempt(at=now, email=email, ip=ip, outcome=AttemptOutcome.succeeded))
    await record_audit(
        session,
        ActorKind.console_user,
        "console.login",
        "console_user",
        user.id,
        actor_id=user.id,
        detail={"ip": ip},
    )
    await session.commit()
    log.info("console user %s signed in", user.id)
    return SignIn(SignInOutcome.signed_in, token=token, user_id=user.id)


# --- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A live session and its user, as read at the start of a request."""

    session_id: int
    csrf_token: str
    user_id: int
    email: str
    role: ConsoleRole
    staff_member_id: int | None


async def resume(
    session: AsyncSession, token: str, *, now: datetime, policy: AccessPolicy
) -> SignedIn | None:
    """The session whose cookie this is, if it is live: not idle too long, not past its
    lifetime, its user still active. A dead session's row is deleted."""
    row = (
        await session.execute(
            sa.select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, col(ConsoleUser.id) == col(ConsoleSession.user_id))
            .where(col(ConsoleSession.token_hash) == token_digest(token))
        )
    ).first()
    if row is None:
        return None
    live, user = row
    if now >= live.expires_at or now - live.last_seen_at >= policy.idle or not user.active:
        await session.delete(live)
        await session.commit()
        return None
    if now - live.last_seen_at >= policy.touch_every:
        live.last_seen_at = now
        await session.commit()
    assert live.id is not None and user.id is not None
    return SignedIn(live.id, live.csrf_token, user.id, user.email, user.role, user.staff_member_id)


@dataclass(frozen=True)
class Tidier:
    """The worker's ``tidy_console`` tick: sessions that can no longer be resumed (past their
    lifetime, or idle too long) and sign-in attempts past every window are deleted."""

    sessions: async_sessionmaker[AsyncSession]
    policy: AccessPolicy
    clock: Callable[[], datetime] = utcnow

    async def tidy(self) -> int:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            ended = await session.execute(
                sa.delete(ConsoleSession).where(
                    sa.or_(
                        col(ConsoleSession.expires_at) <= now,
                        col(ConsoleSession.last_seen_at) <= now - self.policy.idle,
                    )
                )
            )
            forgotten = await session.execute(
                sa.delete(LoginAttempt).where(
                    col(LoginAttempt.at) < now - self.policy.attempts_kept
                )
            )
        return int(ended.rowcount + forgotten.rowcount)  # type: ignore[attr-defined]


async def sign_out(session: AsyncSession, signed_in: SignedIn) -> None:
    await session.execute(
        sa.delete(ConsoleSession).where(col(ConsoleSession.id) == signed_in.session_id)
    )
    await record_audit(
        session,
        ActorKind.console_user,
        "console.logout",
        "console_user",
        signed_in.user_id,
        actor_id=signed_in.user_id,
    )
    await session.commit()
    log.info("console user %s signed out", signed_in.user_id)
