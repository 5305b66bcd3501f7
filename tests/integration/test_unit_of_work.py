"""Each update is one unit of work: recorded once, never lost, even when a handler fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from aiogram import Bot, F
from aiogram.types import Chat, Message, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.bot.app import build_dispatcher
from service.conversations.models import InboundKind, InboundMessage
from service.outbox.models import Lane, OutboxMessage
from service.outbox.service import enqueue
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, Telegram


def text_update(update_id: int, text: str) -> Update:
    person = User(id=7, is_bot=False, first_name="Lee")
    message = Message(
        message_id=update_id,
        date=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        chat=Chat(id=7, type="private"),
        from_user=person,
        text=text,
    )
    return Update(update_id=update_id, message=message)


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    bot = Telegram(SANDBOX_TOKEN, sandbox.base_url).bot()
    yield bot
    await bot.session.close()


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[InboundMessage]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)))


async def test_a_redelivered_update_is_handled_once(
    bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dispatcher = build_dispatcher(sessions)
    update = text_update(41, "/start")
    await dispatcher.feed_update(bot, update)
    await dispatcher.feed_update(bot, update)  # Telegram sends it again after a restart
    [row] = await _rows(sessions)
    assert (row.update_id, row.kind, row.text) == (41, InboundKind.command, "/start")
    assert row.sent_at == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


async def test_a_failing_handler_still_keeps_what_the_person_wrote(
    bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def fail(message: Message, session: AsyncSession) -> None:
        await enqueue(session, chat_id=message.chat.id, text="half-done", lane=Lane.reply)
        raise RuntimeError("a bug")

    dispatcher = build_dispatcher(sessions)
    dispatcher.message.register(fail, F.text == "I need someone to talk to")  # before any router
    await dispatcher.feed_update(bot, text_update(42, "I need someone to talk to"))

    [row] = await _rows(sessions)
    assert (row.update_id, row.text) == (42, "I need someone to talk to")
    async with sessions() as session:  # the handler's half-done work was rolled back
        assert await session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


async def test_an_update_the_database_refuses_for_good_is_kept_bare_and_the_bot_goes_on(
    bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A real refusal by PostgreSQL, as an unforeseen value would get: a trigger raising for
    # texts that hold the marker. Without the bare record, polling would stop at the update on
    # every restart, for everyone.
    async with sessions() as session:
        await session.execute(
            sa.text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.text LIKE '%poison%' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        await session.execute(
            sa.text(
                "CREATE TRIGGER refuse BEFORE INSERT ON inbound_messages "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )
        await session.commit()
    dispatcher = build_dispatcher(sessions)
    await dispatcher.feed_update(bot, text_update(51, "poison and i want to kill myself"))
    await dispatcher.feed_update(bot, text_update(52, "/start"))  # the next one as ever
    first, second = await _rows(sessions)
    assert (first.update_id, first.kind, first.text, first.chat_id) == (
        51,
        InboundKind.other,
        None,
        7,
    )
    assert (second.update_id, second.kind, second.text) == (52, InboundKind.command, "/start")
    async with sessions() as session:
        lanes = list(
            await session.scalars(sa.select(OutboxMessage.lane).order_by(OutboxMessage.id))
        )
    assert lanes[0] == Lane.crisis  # the words of danger still got the crisis answer
    assert len(lanes) == 2  # and /start its own
