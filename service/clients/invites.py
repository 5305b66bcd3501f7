"""Invites: single-use, expiring tokens that link a Telegram account to a client or staff record."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import ActorKind
from service.audit.service import CLI, Actor, record_audit
from service.checkins.programs import standard_program_id
from service.clients.models import Client, ClientState, Invite, InviteKind
from service.errors import InviteExpired, InviteNotFound, InviteUsed, LinkConflict
from service.staff.models import StaffMember, StaffRole

TOKEN_BYTES = 24  # 32 URL-safe characters; Telegram allows 64 in a start parameter
CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B)
CODE_LENGTH = 6


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_client_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


@dataclass(frozen=True)
class IssuedInvite:
    """An invite as handed out: the token exists only here, the database keeps its digest."""

    invite: Invite
    token: str
    subject_id: int


async def issue_invite(
    session: AsyncSession,
    *,
    ttl: timedelta,
    now: datetime,
    client_id: int | None = None,
    staff_member_id: int | None = None,
) -> tuple[Invite, str]:
    token = new_token()
    invite = Invite(
        kind=InviteKind.client if client_id is not None else InviteKind.staff,
        token_sha256=token_digest(token),
        client_id=client_id,
        staff_member_id=staff_member_id,
        expires_at=now + ttl,
    )
    session.add(invite)
    await session.flush()
    return invite, token


async def invite_client(
    session: AsyncSession,
    *,
    first_name: str,
    timezone: str,
    language: str,
    ttl: timedelta,
    now: datetime,
    discharge_date: date | None = None,
    coordinator_id: int | None = None,
    by: Actor = CLI,
) -> IssuedInvite:
    """Create a client record waiting for its invite to be used."""
    if coordinator_id is not None and await session.get(StaffMember, coordinator_id) is None:
        raise LinkConflict(f"There is no staff member with id {coordinator_id}.")
    client = Client(
        code=await _unused_client_code(session),
        first_name=first_name,
        timezone=timezone,
        language=language,
        discharge_date=discharge_date,
        sobriety_date=discharge_date,
        coordinator_id=coordinator_id,
        program_id=await standard_program_id(session),
    )
    session.add(client)
    await session.flush()
    assert client.id is not None
    invite, token = await issue_invite(session, ttl=ttl, now=now, client_id=client.id)
    await record_audit(
        session,
        by.kind,
        "invite.created",
        "client",
        client.id,
        detail={"invite_id": invite.id},
        actor_id=by.id,
    )
    return IssuedInvite(invite, token, client.id)


async def invite_staff(
    session: AsyncSession,
    *,
    name: str,
    role: StaffRole,
    ttl: timedelta,
    now: datetime,
    by: Actor = CLI,
) -> IssuedInvite:
    """Create a staff member who links their Telegram account by using the invite."""
    member = StaffMember(name=name, role=role)
    session.add(member)
    await session.flush()
    assert member.id is not None
    invite, token = await issue_invite(session, ttl=ttl, now=now, staff_member_id=member.id)
    await record_audit(
        session,
        by.kind,
        "invite.created",
        "staff_member",
        member.id,
        detail={"invite_id": invite.id, "role": role.value},
        actor_id=by.id,
    )
    return IssuedInvite(invite, token, member.id)


async def _unused_client_code(session: AsyncSession) -> str:
    while True:
        code = new_client_code()
        taken = await session.scalar(sa.select(sa.exists().where(col(Client.code) == code)))
        if not taken:
            return code


@dataclass(frozen=True)
class Redeemed:
    subject: Client | StaffMember
    again: bool  # the same person used their own invite a second time


async def redeem_invite(
    session: AsyncSession, token: str, *, telegram_user_id: int, chat_id: int, now: datetime
) -> Redeemed:
    """Use an invite: link the Telegram account to its client or staff record, exactly once.

    The person who used an invite may tap it again (it answers as a welcome back); anyone else
    gets ``InviteUsed``.
    """
    invite = await session.scalar(
        sa.select(Invite).where(col(Invite.token_sha256) == token_digest(token)).with_for_update()
    )
    subject = await _subject_of(session, invite) if invite is not None else None
    if invite is None or subject is None:
        raise InviteNotFound
    if invite.used_at is not None:
        if subject.telegram_user_id == telegram_user_id:
            return Redeemed(subject, again=True)
        raise InviteUsed
    if invite.expires_at <= now:
        raise InviteExpired
    model = type(subject)
    linked_elsewhere = await session.scalar(
        sa.select(col(model.id)).where(
            col(model.telegram_user_id) == telegram_user_id, col(model.id) != subject.id
        )
    )
    if linked_elsewhere is not None:
        raise LinkConflict("This Telegram account is already linked to another record.")
    subject.telegram_user_id = telegram_user_id
    subject.telegram_chat_id = chat_id
    if isinstance(subject, Client):
        subject.state = ClientState.consent_pending
        await record_audit(session, ActorKind.client, "client.linked", "client", subject.id)
    else:
        subject.linked_at = now
        await record_audit(session, ActorKind.staff, "staff.linked", "staff_member", subject.id)
    invite.used_at = now
    invite.used_by_telegram_user_id = telegram_user_id
    await session.flush()
    return Redeemed(subject, again=False)


async def _subject_of(session: AsyncSession, invite: Invite) -> Client | StaffMember | None:
    """The record an invite links, unless it has been erased or deactivated since."""
    if invite.kind == InviteKind.client:
        client = await session.get(Client, invite.client_id, with_for_update=True)
        return client if client is not None and client.state != ClientState.erased else None
    member = await session.get(StaffMember, invite.staff_member_id, with_for_update=True)
    return member if member is not None and member.active else None
