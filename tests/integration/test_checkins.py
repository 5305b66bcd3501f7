"""Check-in conversations: a 0-10 question with buttons, a follow-up that fits the answer, and
every reply answered within seconds with a message tailored to what matters to the client."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.checkins.models import Checkin, CheckinStatus
from service.clients.models import Client
from service.conversations.models import InboundMessage
from service.outbox.models import OutboxMessage
from service.runtime import Services
from service.sandbox.client import SandboxClient
from tests.people import Chat, enrol, service_running


async def _values(sessions: async_sessionmaker[AsyncSession], values: list[str]) -> None:
    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        client.values = values
        await session.commit()


@pytest.mark.parametrize("language", ["en", "es"])
async def test_a_checkin_asks_a_scale_and_follows_up_on_the_answer(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    language: str,
) -> None:
    chat: Chat = await enrol(telegram, sessions, language=language)
    await _values(sessions, ["work"])
    await chat.send("/checkin")  # the first asks an open question
    opener = await chat.says()
    assert opener["reply_markup"] is None
    assert opener["text"].rstrip().endswith("?")
    await chat.send("/checkin")  # the next, a 0-10 scale
    question = await chat.says()
    rows = question["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in rows for b in row] == [str(n) for n in range(11)]
    assert "10" in question["text"]
    await chat.press(question, "9")
    follow_up = await chat.says()
    async with sessions() as session:
        checkin = await session.scalar(sa.select(Checkin).order_by(col(Checkin.id).desc()))
        assert checkin is not None
        assert checkin.status == CheckinStatus.answered
        [(scale, value)] = checkin.answers.items()
        assert value == 9
        row = await session.scalar(
            sa.select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(1)
        )
    assert row is not None
    assert row.reason["category"] == "scale_followup"
    assert (row.reason["scale"], row.reason["band"]) == (scale, "high")
    assert follow_up["text"]

    started = time.monotonic()
    await chat.send("Honestly it was a long day but I got through it")
    answer = await chat.says()
    assert time.monotonic() - started < 3
    async with sessions() as session:
        inbound = await session.scalar(
            sa.select(InboundMessage).order_by(col(InboundMessage.id).desc()).limit(1)
        )
        last = await session.scalar(
            sa.select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(1)
        )
    assert inbound is not None and last is not None
    assert inbound.checkin_id == checkin.id  # the reply is linked to its check-in
    assert last.reason["category"] in {"affirmation", "values_reflection"}
    assert last.template_version_id is not None
    assert answer["text"]

    await chat.send("Tomorrow I want to finish that job application")
    await chat.says()
    async with sessions() as session:
        answers = (
            await session.scalars(
                sa.select(OutboxMessage.reason).order_by(col(OutboxMessage.id).desc()).limit(2)
            )
        ).all()
    assert {reason["category"] for reason in answers} == {"affirmation", "values_reflection"}
    assert {reason.get("value") for reason in answers} - {None} == {"work"}


async def test_a_restart_in_the_middle_of_a_checkin_loses_nothing(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with service_running(services):
        chat = await enrol(telegram, sessions)
        await chat.send("/checkin")
        await chat.send("Fine, thanks")  # answers the open question
        await chat.says(2)
        await chat.send("/checkin")
        question = await chat.says()
    async with service_running(services):  # the service was restarted before the answer
        await chat.press(question, "2")
        follow_up = await chat.says()
    assert follow_up["text"]
    async with sessions() as session:
        checkins = (await session.scalars(sa.select(Checkin).order_by(col(Checkin.id)))).all()
    assert [c.status for c in checkins] == [CheckinStatus.answered] * 2
    assert [list(c.answers.values()) for c in checkins] == [[], [2]]
