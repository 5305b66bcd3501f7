"""The sender: most urgent lane first, the right outcome for each answer Telegram gives, pacing
to Telegram's limits, one active sender per bot, and a clean stop."""

from __future__ import annotations

import asyncio
import itertools
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.clients.models import Client
from service.columns import utcnow
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.outbox.pacing import SendLimits
from service.outbox.sender import MAX_ATTEMPTS, Sender
from service.outbox.service import enqueue, enqueue_call
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, Telegram
from tests.people import COORDINATOR, link_coordinator
from tests.waiting import eventually

NOW = utcnow().replace(microsecond=0) + timedelta(hours=1)
"""The senders' clock: ahead of the database's, so that rows stamped with its now() are due."""
ROOT = Path(__file__).resolve().parents[2]
PERSON = 2024
UNLIMITED = SendLimits(per_second=0, per_chat_per_second=0, per_group_per_minute=0)
TELEGRAM = SendLimits()


class Calls(BaseRequestMiddleware):
    """Counts the calls one sender's bot makes, to tell two senders apart."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        self.count += 1
        return await make_request(bot, method)


class Senders:
    """Makes senders on this test's database and sandbox, and closes their bots."""

    def __init__(
        self,
        sandbox: SandboxServer,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.sandbox = sandbox
        self.engine = engine
        self.sessions = sessions
        self.calls: dict[Sender, Calls] = {}

    def __call__(
        self,
        *,
        limits: SendLimits = UNLIMITED,
        clock: Callable[[], datetime] = utcnow,
        api: str | None = None,
    ) -> Sender:
        bot = Telegram(SANDBOX_TOKEN, api or self.sandbox.base_url).bot()
        sender = Sender(bot, self.engine, self.sessions, limits=limits, clock=clock)
        self.calls[sender] = Calls()
        bot.session.middleware(self.calls[sender])
        return sender

    def calls_of(self, sender: Sender) -> int:
        return self.calls[sender].count


@pytest.fixture
async def senders(
    sandbox: SandboxServer, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Senders]:
    made = Senders(sandbox, engine, sessions)
    yield made
    for sender in made.calls:
        await sender.bot.session.close()


@pytest.fixture
def sender(senders: Senders) -> Sender:
    """Driven one call at a time with `send_next`, on a clock that stands still."""
    return senders(clock=lambda: NOW)


class Running:
    """A sender's `run` loop in the background, stopped like the worker role stops it."""

    def __init__(self, sender: Sender, group: asyncio.TaskGroup) -> None:
        self.sender = sender
        self.stop_event = asyncio.Event()
        self.task = group.create_task(sender.run(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        async with asyncio.timeout(5):
            await self.task


@asynccontextmanager
async def running(*senders: Sender) -> AsyncIterator[list[Running]]:
    async with asyncio.TaskGroup() as group:
        loops = [Running(sender, group) for sender in senders]
        try:
            yield loops
        finally:
            for loop in loops:
                await loop.stop()


async def _queue(
    sessions: async_sessionmaker[AsyncSession],
    text: str,
    lane: Lane,
    client_id: int | None = None,
    chat_id: int = PERSON,
) -> int:
    async with sessions() as session:
        message = await enqueue(session, chat_id=chat_id, text=text, lane=lane, client_id=client_id)
        message.not_before = NOW - timedelta(seconds=1)  # due by the sender's clock
        await session.commit()
    assert message.id is not None
    return message.id


async def _queue_now(
    sessions: async_sessionmaker[AsyncSession], chats: Sequence[int], lane: Lane = Lane.scheduled
) -> None:
    """One message to each chat (``text`` names the chat and its place), due now."""
    async with sessions() as session:
        for place, chat in enumerate(chats):
            await enqueue(session, chat_id=chat, text=f"{chat} #{place}", lane=lane)
        await session.commit()


async def _backlog(sessions: async_sessionmaker[AsyncSession], chats: Sequence[int]) -> None:
    """Many scheduled messages at once, due now, one to each of `chats` in turn."""
    async with sessions() as session:
        await session.execute(
            sa.insert(OutboxMessage),
            [
                {"chat_id": chat, "payload": {"text": f"{chat} #{place}"}}
                for place, chat in enumerate(chats)
            ],
        )
        await session.commit()


async def _row(sessions: async_sessionmaker[AsyncSession], row_id: int) -> OutboxMessage:
    async with sessions() as session:
        row = await session.get(OutboxMessage, row_id)
    assert row is not None
    return row


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(OutboxMessage).order_by(col(OutboxMessage.id))))


async def _people(telegram: SandboxClient, count: int) -> list[int]:
    people = list(range(PERSON, PERSON + count))
    for person in people:
        await telegram.ensure_user(person, f"Person {person}")
    return people


async def _delivered(telegram: SandboxClient) -> list[dict[str, Any]]:
    """Messages Telegram accepted, in the order it accepted them."""
    return [call for call in await telegram.calls("sendMessage") if call["ok"]]


async def _count_delivered(telegram: SandboxClient) -> int:
    return len(await _delivered(telegram))


def _at(call: dict[str, Any]) -> float:
    return datetime.fromisoformat(call["at"]).timestamp()


# --- what each answer from Telegram does ------------------------------------------------------


async def test_the_most_urgent_lane_goes_first(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    await _queue(sessions, "scheduled check-in", Lane.scheduled)
    await _queue(sessions, "a reply", Lane.reply)
    await _queue(sessions, "crisis resources", Lane.crisis)
    while await sender.send_next():
        pass
    sent = [message["text"] for message in await telegram.sent_messages(PERSON)]
    assert sent == ["crisis resources", "a reply", "scheduled check-in"]


async def test_flood_control_waits_without_counting_an_attempt_and_the_chat_waits_too(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    first = await _queue(sessions, "hello", Lane.reply)
    second = await _queue(sessions, "and hello again", Lane.reply)
    await telegram.fail_next("sendMessage", 429, retry_after=7)
    assert await sender.send_next()
    row = await _row(sessions, first)
    assert (row.status, row.attempts, row.not_before) == (
        OutboxStatus.pending,
        0,
        NOW + timedelta(seconds=7),
    )
    assert (await _row(sessions, second)).not_before == NOW + timedelta(seconds=7)
    await _queue(sessions, "crisis resources", Lane.crisis)  # due, but to the chat that waits
    assert not await sender.send_next()
    assert await telegram.sent_messages(PERSON) == []


async def test_a_server_error_backs_off_and_keeps_the_message(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "hello", Lane.reply)
    await telegram.fail_next("sendMessage", 502)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    assert row.not_before == NOW + timedelta(seconds=2)
    assert row.last_error is not None
    assert "hello" not in row.last_error


async def test_a_message_to_try_again_holds_back_its_chats_later_ones_but_not_a_crisis_answer(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    await telegram.ensure_user(PERSON + 1, "Sol")
    first = await _queue(sessions, "the first reply", Lane.reply)
    second = await _queue(sessions, "the second reply", Lane.reply)
    elsewhere = await _queue(sessions, "to another chat", Lane.reply, chat_id=PERSON + 1)
    await telegram.fail_next("sendMessage", 502)
    assert await sender.send_next()  # the first fails: tried again in 2 s
    assert (await _row(sessions, second)).not_before == NOW + timedelta(seconds=2)  # behind it
    assert (await _row(sessions, elsewhere)).not_before <= NOW
    await _queue(sessions, "crisis resources", Lane.crisis)
    while await sender.send_next():
        pass
    assert [m["text"] for m in await telegram.sent_messages(PERSON)] == ["crisis resources"]
    assert [m["text"] for m in await telegram.sent_messages(PERSON + 1)] == ["to another chat"]
    assert (await _row(sessions, first)).status == OutboxStatus.pending


async def test_a_revoked_token_keeps_every_message_waiting_without_counting_attempts(
    sender: Sender,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "hello", Lane.reply)
    await telegram.fail_next("sendMessage", 401, count=20)
    for _ in range(MAX_ATTEMPTS + 2):  # however long it takes to put the new token in
        assert await sender.send_next()
        async with sessions() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            row.not_before = NOW - timedelta(seconds=1)
            await session.commit()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.pending, 0)
    assert caplog.text.count("Telegram refuses the bot token") == 1  # said once, not per try


async def test_a_network_error_backs_off_and_keeps_the_message(
    senders: Senders, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sender = senders(clock=lambda: NOW, api=unreachable)
    row_id = await _queue(sessions, "hello", Lane.reply)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts, row.not_before) == (
        OutboxStatus.pending,
        1,
        NOW + timedelta(seconds=2),
    )
    assert row.last_error is not None
    assert row.last_error.startswith("TelegramNetworkError")


async def test_the_last_attempt_gives_up(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "hello", Lane.reply)
    async with sessions() as session, session.begin():
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        row.attempts = MAX_ATTEMPTS - 1
    await telegram.fail_next("sendMessage", 500)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.failed, MAX_ATTEMPTS)
    assert row.last_error is not None
    assert row.last_error.startswith("TelegramServerError")


async def test_a_blocked_bot_marks_the_client_unreachable_and_tells_the_coordinator(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coordinator_id = await link_coordinator(telegram, sessions)
    await telegram.ensure_user(PERSON, "Rae")
    await telegram.block(PERSON)
    async with sessions() as session:
        client = Client(
            code="RAE234",
            first_name="Rae",
            timezone="UTC",
            telegram_user_id=PERSON,
            coordinator_id=coordinator_id,
        )
        session.add(client)
        await session.commit()
    row_id = await _queue(sessions, "hello", Lane.scheduled, client_id=client.id)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.failed, 1)
    assert row.last_error is not None
    assert "Forbidden" in row.last_error
    async with sessions() as session:
        stored = await session.get(Client, client.id)
        assert stored is not None
        assert stored.unreachable_since == NOW
    await _queue(sessions, "hello again", Lane.scheduled, client_id=client.id)
    while await sender.send_next():
        pass
    [note] = await telegram.sent_messages(COORDINATOR)  # told once, not for every message
    assert "RAE234" in note["text"]
    assert "blocked the bot" in note["text"]
    assert "Rae" not in note["text"]
    assert [row.lane for row in await _rows(sessions) if row.chat_id == COORDINATOR] == [Lane.alert]


async def test_a_message_telegram_refuses_fails_for_good_with_the_reason(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(PERSON, "Rae")
    row_id = await _queue(sessions, "x" * 4097, Lane.reply)
    assert await sender.send_next()
    row = await _row(sessions, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.failed, 1)
    assert row.last_error == "TelegramBadRequest: Bad Request: message is too long"
    assert await telegram.sent_messages(PERSON) == []


# --- pacing ------------------------------------------------------------------------------------


async def test_a_backlog_drains_at_the_overall_limit_without_flood_errors(
    senders: Senders, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.set_rate_limits()  # Telegram's limits: 30 a second overall
    people = await _people(telegram, 90)
    await _queue_now(sessions, people)
    async with running(senders(limits=TELEGRAM)):
        await telegram.wait_for_messages(people[-1], 1, timeout=10)
        delivered = await eventually(lambda: _count_delivered(telegram), 90)
    calls = await telegram.calls("sendMessage")
    assert [call for call in calls if call["status"] == 429] == []
    assert len(calls) == delivered
    rate = (len(calls) - 1) / (_at(calls[-1]) - _at(calls[0]))
    assert 30 * 0.95 <= rate <= 30


async def test_messages_to_one_chat_go_a_second_apart_and_button_answers_do_not_wait(
    senders: Senders, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.set_rate_limits()
    await telegram.ensure_user(PERSON, "Rae")
    button = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    async with sessions() as session:
        await enqueue(session, chat_id=PERSON, text="press", lane=Lane.reply, reply_markup=button)
        await session.commit()
    sender = senders(limits=TELEGRAM)
    assert await sender.send_next()
    [message] = await telegram.sent_messages(PERSON)
    press = await telegram.press_button(PERSON, message["message_id"], "ok")
    async with sessions() as session:
        for text in ("one", "two", "three"):
            await enqueue(session, chat_id=PERSON, text=text, lane=Lane.reply)
        await enqueue_call(
            session,
            chat_id=PERSON,
            method="answerCallbackQuery",
            payload={"callback_query_id": press["callback_query"]["id"]},
        )
        await session.commit()
    async with running(sender):
        await telegram.wait_for_messages(PERSON, 4, timeout=6)
    calls = [call for call in await telegram.calls() if call["method"] != "getMe"]
    assert [call["status"] for call in calls] == [200] * 5
    sends = [_at(call) for call in calls if call["method"] == "sendMessage"]
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(sends))
    [answer] = [_at(call) for call in calls if call["method"] == "answerCallbackQuery"]
    assert answer < sends[2]  # not behind "two" and "three", which waited for their second


async def test_an_urgent_message_overtakes_a_backlog(
    senders: Senders, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.set_rate_limits(enabled=False)
    people = await _people(telegram, 151)
    backlog, urgent = people[:-1], people[-1]
    await _queue_now(sessions, backlog)
    async with running(senders(limits=SendLimits(per_second=50))):
        await telegram.wait_for_messages(backlog[20], 1)
        await _queue_now(sessions, [urgent], lane=Lane.crisis)
        queued = datetime.now(UTC).timestamp()
        await telegram.wait_for_messages(urgent, 1)
        place = [call["params"]["chat_id"] for call in await _delivered(telegram)].index(urgent)
        latency = _at((await _delivered(telegram))[place]) - queued
    assert latency < 0.3
    assert place < len(backlog) - 50  # well before the backlog was through


# --- one active sender -------------------------------------------------------------------------


async def _lock_holder(engine: AsyncEngine) -> int | None:
    """The backend holding the sender's lock on this test's database, if any."""
    async with engine.connect() as conn:
        pid: int | None = await conn.scalar(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        return pid


async def test_only_one_of_two_senders_sends(
    senders: Senders,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    await telegram.set_rate_limits(enabled=False)
    people = await _people(telegram, 40)
    first, second = senders(), senders()
    async with running(first, second):
        await _queue_now(sessions, people)
        await eventually(lambda: _count_delivered(telegram), 40)
        await _queue_now(sessions, people)
        await eventually(lambda: _count_delivered(telegram), 80)
        await asyncio.sleep(0.3)  # time enough for a duplicate to show
    assert await _count_delivered(telegram) == 80
    assert sorted([senders.calls_of(first), senders.calls_of(second)]) == [0, 80]
    assert {row.status for row in await _rows(sessions)} == {OutboxStatus.sent}
    assert await _lock_holder(engine) is None  # both stopped: the lock is free


@pytest.mark.parametrize("how", ["stopped", "connection closed"])
async def test_a_standby_sender_takes_over(
    how: str,
    senders: Senders,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    await telegram.set_rate_limits(enabled=False)
    people = await _people(telegram, 10)
    async with running(senders(), senders()) as loops:
        await _queue_now(sessions, people[:5])
        await eventually(lambda: _count_delivered(telegram), 5)
        [active] = [loop for loop in loops if senders.calls_of(loop.sender)]
        [standby] = [loop for loop in loops if loop is not active]
        if how == "stopped":
            await active.stop()
        else:
            holder = await _lock_holder(engine)
            async with engine.connect() as conn:
                await conn.execute(sa.select(sa.func.pg_terminate_backend(holder)))
        taking_over = asyncio.get_running_loop().time()
        await _queue_now(sessions, people[5:])
        await eventually(lambda: _count_delivered(telegram), 10, within=5)
        took = asyncio.get_running_loop().time() - taking_over
    assert took < 3
    assert (senders.calls_of(active.sender), senders.calls_of(standby.sender)) == (5, 5)
    assert {row.status for row in await _rows(sessions)} == {OutboxStatus.sent}


# --- stopping ----------------------------------------------------------------------------------


async def test_stopping_finishes_the_calls_in_flight_and_records_them(
    senders: Senders,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    await telegram.set_rate_limits(enabled=False)
    people = await _people(telegram, 50)
    await _backlog(sessions, people * 60)
    async with running(senders()) as [loop]:
        await eventually(lambda: _sent_at_least(sessions, 60), True)
        await loop.stop()
    delivered = sorted(call["params"]["text"] for call in await _delivered(telegram))
    rows = await _rows(sessions)
    sent = sorted(row.payload["text"] for row in rows if row.status == OutboxStatus.sent)
    assert delivered == sent  # every message Telegram accepted is marked sent, and no other
    assert 60 <= len(sent) < len(rows)  # it stopped with a backlog left
    assert {row.status for row in rows} == {OutboxStatus.sent, OutboxStatus.pending}
    assert await _lock_holder(engine) is None


KILLABLE_SENDER = """
import asyncio, sys
from service.db import asyncpg_url, create_engine, session_factory
from service.outbox.pacing import SendLimits
from service.outbox.sender import Sender
from service.telegram import SANDBOX_TOKEN, Telegram

async def main(database_url, api):
    engine = create_engine(asyncpg_url(database_url))
    bot = Telegram(SANDBOX_TOKEN, api).bot()
    limits = SendLimits(per_second=0, per_chat_per_second=0, per_group_per_minute=0)
    await Sender(bot, engine, session_factory(engine), limits=limits).run(asyncio.Event())

asyncio.run(main(*sys.argv[1:]))
"""


async def test_after_a_kill_only_what_was_not_yet_marked_sent_goes_again(
    senders: Senders,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    sandbox: SandboxServer,
    database_url: URL,
) -> None:
    await telegram.set_rate_limits(enabled=False)
    people = await _people(telegram, 50)
    await _backlog(sessions, people * 60)
    killed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLABLE_SENDER,
        database_url.render_as_string(hide_password=False),
        sandbox.base_url,
        cwd=ROOT,
    )
    try:
        await eventually(lambda: _sent_at_least(sessions, 200), True, within=20)
    finally:
        killed_at = datetime.now(UTC).timestamp()
        killed.kill()  # SIGKILL: no chance to finish or write anything back
        await killed.wait()
    async with running(senders()):  # 3,000 to catch up with: give a loaded machine time
        await eventually(lambda: _sent_at_least(sessions, len(people) * 60), True, within=30)
    calls = await _delivered(telegram)
    first: dict[str, float] = {}
    for call in calls:
        first.setdefault(call["params"]["text"], _at(call))
    rows = await _rows(sessions)
    assert set(first) == {row.payload["text"] for row in rows}  # nothing lost
    twice = [
        text
        for text, count in Counter(call["params"]["text"] for call in calls).items()
        if count > 1
    ]
    # Again only what Telegram had accepted in the moment before the kill (or after it: calls
    # in flight), not yet written back.
    assert all(killed_at - first[text] < 0.2 for text in twice)


async def _sent_at_least(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    async with sessions() as session:
        sent = await session.scalar(
            sa.select(sa.func.count()).where(col(OutboxMessage.status) == OutboxStatus.sent)
        )
    return (sent or 0) >= count
