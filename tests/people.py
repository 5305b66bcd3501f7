"""Acting as people in Telegram through the sandbox: an alumnus's chat, and enrolling one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.clients.invites import invite_client, invite_staff, redeem_invite
from service.clients.models import Client, ClientState
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


def awake_zone() -> str:
    """A timezone without DST where it is now between 10:00 and 18:00."""
    now = utcnow()
    for hours in range(-12, 15):
        zone = f"Etc/GMT{-hours:+d}" if hours else "Etc/GMT"
        if time(10) <= now.astimezone(ZoneInfo(zone)).time() < time(18):
            return zone
    raise AssertionError("every hour of the day has a zone")


async def due_clients(
    sessions: async_sessionmaker[AsyncSession],
    telegram: SandboxClient,
    due: Iterable[datetime],
    *,
    first: int,
    coordinator_id: int | None = None,
) -> list[int]:
    """Active clients with daily check-ins in a timezone where it is day now, one per due time
    (their next check-in), each a Telegram user from ``first`` on: their Telegram ids."""
    zone = awake_zone()
    times = list(due)
    people = list(range(first, first + len(times)))
    async with asyncio.TaskGroup() as group:
        for person in people:
            group.create_task(telegram.ensure_user(person, "Sam", language_code="en"))
    async with sessions() as session:
        session.add_all(
            Client(
                code=f"D{person}",
                first_name="Sam",
                state=ClientState.active,
                telegram_user_id=person,
                telegram_chat_id=person,
                timezone=zone,
                language="en",
                values=["family"],
                checkin_window_start=time(8),
                checkin_window_end=time(20, 59),
                discharge_date=utcnow().date() - timedelta(days=3),  # daily check-ins
                next_checkin_at=at,
                coordinator_id=coordinator_id,
            )
            for person, at in zip(people, times, strict=True)
        )
        await session.commit()
    return people
