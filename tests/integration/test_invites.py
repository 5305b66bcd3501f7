"""Invites: single use, expiring, one Telegram account per record, only a digest stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEntry
from service.clients.invites import invite_client, invite_staff, redeem_invite, token_digest
from service.clients.models import Client, ClientState, Invite
from service.errors import InviteExpired, InviteNotFound, InviteUsed, LinkConflict
from service.staff.models import StaffMember, StaffRole

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(days=14)


async def _client_invite(sessions: async_sessionmaker[AsyncSession], name: str = "Ana") -> str:
    async with sessions() as session:
        issued = await invite_client(
            session, first_name=name, timezone="America/Chicago", language="es", ttl=TTL, now=NOW
        )
        await session.commit()
    return issued.token


async def test_a_client_invite_links_one_account_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    token = await _client_invite(sessions)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token)

    async with sessions() as session:
        redeemed = await redeem_invite(session, token, telegram_user_id=501, chat_id=501, now=NOW)
        await session.commit()
    client = redeemed.subject
    assert isinstance(client, Client)
    assert not redeemed.again

    async with sessions() as session:
        stored = await session.get(Client, client.id)
        assert stored is not None
        assert (stored.telegram_user_id, stored.telegram_chat_id) == (501, 501)
        assert stored.state == ClientState.consent_pending
        assert (stored.timezone, stored.language) == ("America/Chicago", "es")
        assert re.fullmatch(r"[A-Z0-9]{6}", stored.code)
        invite = await session.scalar(sa.select(Invite))
        assert invite is not None
        assert invite.token_sha256 == token_digest(token) != token
        assert invite.used_by_telegram_user_id == 501
        actions = set(await session.scalars(sa.select(AuditEntry.action)))
        assert actions == {"invite.created", "client.linked"}

    async with sessions() as session:
        with pytest.raises(InviteUsed):
            await redeem_invite(session, token, telegram_user_id=777, chat_id=777, now=NOW)
        later = NOW + 2 * TTL  # the person who used it may tap it again, even after expiry
        again = await redeem_invite(session, token, telegram_user_id=501, chat_id=501, now=later)
        assert again.again
        assert again.subject.id == client.id


async def test_an_expired_or_unknown_token_links_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    token = await _client_invite(sessions)
    async with sessions() as session:
        with pytest.raises(InviteExpired):
            await redeem_invite(session, token, telegram_user_id=1, chat_id=1, now=NOW + TTL)
        with pytest.raises(InviteNotFound):
            await redeem_invite(session, "no-such-token", telegram_user_id=1, chat_id=1, now=NOW)
    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        assert client.telegram_user_id is None
        assert client.state == ClientState.invited


async def test_one_telegram_account_cannot_hold_two_client_records(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await _client_invite(sessions, "Ana"), await _client_invite(sessions, "Bo")
    async with sessions() as session:
        await redeem_invite(session, first, telegram_user_id=9, chat_id=9, now=NOW)
        await session.commit()
    async with sessions() as session:
        with pytest.raises(LinkConflict):
            await redeem_invite(session, second, telegram_user_id=9, chat_id=9, now=NOW)


async def test_a_staff_invite_links_a_coordinator(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        issued = await invite_staff(
            session, name="Dana", role=StaffRole.coordinator, ttl=TTL, now=NOW
        )
        await session.commit()
    async with sessions() as session:
        redeemed = await redeem_invite(
            session, issued.token, telegram_user_id=42, chat_id=42, now=NOW
        )
        await session.commit()
    assert isinstance(redeemed.subject, StaffMember)
    async with sessions() as session:
        stored = await session.get(StaffMember, issued.subject_id)
        assert stored is not None
        assert stored.telegram_user_id == 42
        assert stored.role == StaffRole.coordinator
        assert stored.linked_at == NOW


async def test_a_client_invite_for_an_unknown_coordinator_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(LinkConflict):
            await invite_client(
                session,
                first_name="Ana",
                timezone="UTC",
                language="en",
                ttl=TTL,
                now=NOW,
                coordinator_id=999,
            )
