"""Acting as people in Telegram through the sandbox: an alumnus's chat, and enrolling one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.clients.invites import invite_client, invite_staff, redeem_invite
from service.clients.models import Client
from service.columns import utcnow
from service.runtime import Services, run_roles
from service.sandbox.client import JSON, SandboxClient
from service.staff.models import StaffRole

PERSON = 4242
COORDINATOR = 777


class Chat:
    """One person's chat with the bot: what they send, and each new thing the bot says."""

    def __init__(self, telegram: SandboxClient, person: int) -> None:
        self.telegram = telegram
        self.person = person
        self.seen = 0

    async def send(self, text: str) -> JSON:
        return await self.telegram.send_text(self.person, text)

    async def says(self, count: int = 1) -> JSON:
        """The bot's next message (after ``count`` new ones, the last of them)."""
        self.seen += count
        return (await self.telegram.wait_for_messages(self.person, self.seen))[-1]

    async def press(self, message: JSON, label: str) -> None:
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if button["text"] == label:
                    await self.telegram.press_button(
                        self.person, message["message_id"], button["callback_data"]
                    )
                    return
        raise AssertionError(f"no button {label!r} in {message['reply_markup']}")


async def enrol(
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    *,
    language: str = "en",
    person: int = PERSON,
    coordinator_id: int | None = None,
    onboard: bool = True,
) -> Chat:
    """Invite, open the link, agree, and (unless told not to) skip through onboarding."""
    async with sessions() as session:
        issued = await invite_client(
            session,
            first_name="Kai",
            timezone="America/New_York",
            language=language,
            ttl=timedelta(days=1),
            now=utcnow(),
            coordinator_id=coordinator_id,
        )
        await session.commit()
    await telegram.ensure_user(person, "Kai", language_code=language)
    chat = Chat(telegram, person)
    await chat.send(f"/start {issued.token}")
    consent = await chat.says(2)
    await chat.press(consent, "I agree" if language == "en" else "Acepto")
    question = await chat.says(2)  # thanks, then the first onboarding question
    if onboard:
        await chat.press(question, "Done" if language == "en" else "Listo")
        for _ in range(4):  # own words, timezone, window, language
            question = await chat.says()
            await chat.press(question, "Skip" if language == "en" else "Omitir")
        await chat.says()  # all set
    return chat


async def client_of(sessions: async_sessionmaker[AsyncSession], person: int = PERSON) -> Client:
    async with sessions() as session:
        client = await session.scalar(
            sa.select(Client).where(col(Client.telegram_user_id) == person)
        )
    assert client is not None
    return client


@asynccontextmanager
async def service_running(
    services: Services, roles: tuple[str, ...] = ("bot", "worker")
) -> AsyncIterator[None]:
    """The roles running in this event loop until the block ends (a restart is two blocks)."""
    stop = asyncio.Event()
    running = asyncio.get_running_loop().create_task(run_roles(services, roles, stop))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await running


async def link_coordinator(
    telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> int:
    """A coordinator whose Telegram account is linked (as chat COORDINATOR); their staff id."""
    await telegram.ensure_user(COORDINATOR, "Dana")
    async with sessions() as session:
        staff = await invite_staff(
            session, name="Dana", role=StaffRole.coordinator, ttl=timedelta(days=1), now=utcnow()
        )
        await redeem_invite(
            session, staff.token, telegram_user_id=COORDINATOR, chat_id=COORDINATOR, now=utcnow()
        )
        await session.commit()
    return staff.subject_id
