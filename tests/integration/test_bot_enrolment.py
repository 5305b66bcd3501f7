"""Enrolment through the real aiogram client over HTTP, against the sandbox Bot API."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clients.invites import invite_client, invite_staff
from service.clients.models import Client, ClientState
from service.columns import utcnow
from service.conversations.models import InboundKind, InboundMessage
from service.outbox.models import OutboxMessage, OutboxStatus
from service.runtime import Services
from service.sandbox.client import SandboxClient
from service.staff.models import StaffMember, StaffRole
from tests.waiting import eventually

ANA, BO = 1001, 1002


async def _invite(sessions: async_sessionmaker[AsyncSession], *, ttl_days: int = 14) -> str:
    async with sessions() as session:
        issued = await invite_client(
            session,
            first_name="Ana <3",
            timezone="America/New_York",
            language="en",
            ttl=timedelta(days=ttl_days),
            now=utcnow(),
        )
        await session.commit()
    return issued.token


async def _outbox_statuses(sessions: async_sessionmaker[AsyncSession]) -> set[OutboxStatus]:
    async with sessions() as session:
        return set(await session.scalars(sa.select(OutboxMessage.status)))


async def test_an_invite_link_enrols_the_person_who_uses_it_first(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    token = await _invite(sessions)
    await telegram.ensure_user(ANA, "Ana", language_code="en")
    await telegram.ensure_user(BO, "Bo", language_code="es")

    await telegram.send_text(ANA, f"/start {token}")
    welcome, consent = await telegram.wait_for_messages(ANA, 2)
    assert "Hi Ana &lt;3, thank you for joining" in welcome["source_text"]
    assert welcome["parse_mode"] == "HTML"
    assert "not an emergency service" in consent["text"]
    assert [b["text"] for b in consent["reply_markup"]["inline_keyboard"][0]] == [
        "I agree",
        "Not now",
    ]

    await telegram.send_text(BO, f"/start {token}")
    [refusal] = await telegram.wait_for_messages(BO, 1)
    assert "ya se usó" in refusal["text"]  # Bo's Telegram speaks Spanish

    await telegram.send_text(ANA, f"/start {token}")  # Ana taps her link again
    replies = await telegram.wait_for_messages(ANA, 4)
    assert replies[2]["text"].startswith("Before anything else")
    assert "not an emergency service" in replies[3]["text"]
    await eventually(lambda: _outbox_statuses(sessions), {OutboxStatus.sent})

    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        assert client.telegram_user_id == ANA
        assert client.state == ClientState.consent_pending
        inbound = (await session.scalars(sa.select(InboundMessage))).all()
        assert [(row.telegram_user_id, row.client_id) for row in inbound] == [
            (ANA, client.id),
            (BO, None),
            (ANA, client.id),
        ]
        assert {row.kind for row in inbound} == {InboundKind.command}
        assert [row.text for row in inbound] == ["/start <invite>"] * 3


async def test_expired_and_unknown_links_get_a_kind_explanation(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    expired = await _invite(sessions, ttl_days=-1)
    await telegram.ensure_user(ANA, "Ana", language_code="en")
    await telegram.send_text(ANA, f"/start {expired}")
    await telegram.send_text(ANA, "/start not-a-real-token")
    await telegram.send_text(ANA, "/start")
    texts = [message["text"] for message in await telegram.wait_for_messages(ANA, 3)]
    assert "expired" in texts[0]
    assert "couldn't find that invite" in texts[1]
    assert "use the invite link your care team gave you" in texts[2]
    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        assert client.telegram_user_id is None


async def test_a_staff_invite_links_a_coordinator_in_telegram(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        issued = await invite_staff(
            session, name="Dana", role=StaffRole.coordinator, ttl=timedelta(days=1), now=utcnow()
        )
        await session.commit()
    await telegram.ensure_user(77, "Dana")
    await telegram.send_text(77, f"/start {issued.token}")
    await telegram.send_text(77, "/start")
    replies = await telegram.wait_for_messages(77, 2)
    assert all("linked as a care coordinator" in reply["text"] for reply in replies)
    await telegram.send_text(77, "/help")
    [*_, staff_help] = await telegram.wait_for_messages(77, 3)
    assert "Alerts about your clients arrive in this chat" in staff_help["text"]
    menus = {str(entry.get("scope")): entry for entry in await telegram.commands()}
    staff_menu = next(entry for scope, entry in menus.items() if "77" in scope)
    assert [c["command"] for c in staff_menu["commands"]] == ["help"]
    async with sessions() as session:
        member = await session.get(StaffMember, issued.subject_id)
        assert member is not None
        assert member.telegram_user_id == 77
