"""Bad input through the real bot: an enrolled alumnus sends hostile texts (tests/data/
hostile_strings.txt, a few hypothesis examples and a full 4096-character message) over the
sandbox; each gets a kind answer, the inbound row keeps the words as Telegram delivered them, and
the console's client timeline and alert page show them as escaped text."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert
from service.config import Settings
from service.conversations.models import InboundMessage
from service.outbox.models import OutboxMessage, OutboxStatus
from service.runtime import Services
from service.sandbox.client import SandboxClient
from service.signals.classifier import default_classifier
from tests.console import HTML, Clock, create, signed_in
from tests.people import Chat, client_of, enrol, link_coordinator
from tests.waiting import eventually

HOSTILE_FILE = Path(__file__).resolve().parents[1] / "data" / "hostile_strings.txt"
INJECTIONS = ("<script>alert(", "<img src=x", "<svg/onload", "<iframe", "<h1>owned")


def hostile_strings() -> list[str]:
    """The file's strings (see its header): one JSON string literal a line."""
    lines = HOSTILE_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]


def stored_as(text: str) -> str:
    """What the inbound row keeps: the words as delivered; a /start payload is a credential."""
    return "/start <invite>" if text.startswith("/start ") else text


async def _inbound(sessions: async_sessionmaker[AsyncSession], update_id: int) -> str | None:
    async with sessions() as session:
        row = await session.scalar(
            sa.select(InboundMessage).where(col(InboundMessage.update_id) == update_id)
        )
    return None if row is None else (row.text or "")


async def _pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.status) == OutboxStatus.pending)
        )
    return count or 0


async def says_kindly(chat: Chat, sessions: async_sessionmaker[AsyncSession], text: str) -> None:
    """``text`` is sent, recorded as written and answered (each of the bot's new messages a
    plain, non-empty text that does not echo the hostile markup)."""
    update = await chat.send(text)
    recorded = await eventually(lambda: _inbound(sessions, update["update_id"]), stored_as(text))
    assert recorded == stored_as(text)
    await eventually(lambda: _pending(sessions), 0)
    answers = (await chat.telegram.sent_messages(chat.person))[chat.seen :]
    assert answers, f"no answer to {text[:60]!r}"
    chat.seen += len(answers)
    for answer in answers:
        assert answer["text"].strip()
        assert not any(injected in answer["text"] for injected in INJECTIONS)


async def test_an_alumnus_sending_hostile_texts_gets_kind_answers_and_the_console_escapes_them(
    bot_service: Services,
    telegram: SandboxClient,
    *,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
) -> None:
    coordinator = await link_coordinator(telegram, sessions)
    chat = await enrol(telegram, sessions, coordinator_id=coordinator)
    chat.seen = len(await telegram.sent_messages(chat.person))
    await telegram.set_rate_limits(enabled=False)  # a burst of 100 messages, answered at once
    strings = [text for text in hostile_strings() if "\x00" not in text]
    for text in strings:
        await says_kindly(chat, sessions, text)

    client = await client_of(sessions)
    await create(settings, "ada@example.org", "admin")
    async with sessions() as session:
        alerts = list(await session.scalars(sa.select(Alert).order_by(col(Alert.id))))
    assert alerts, "the relapse words among the hostile strings raise an alert"
    async with signed_in(engine, clock, "ada@example.org") as web:
        timeline = await web.get(f"/console/clients/{client.id}", headers=HTML)
        alert = await web.get(f"/console/alerts/{alerts[0].id}", headers=HTML)
    assert timeline.status_code == alert.status_code == 200
    for page in (timeline.text, alert.text):
        assert not any(injected in page for injected in INJECTIONS)
    # The last messages sent are in the first page of the timeline; the alert quotes its words.
    assert "&lt;img src=x onerror=alert(1)&gt;" in timeline.text
    assert "&lt;script&gt;alert(&#39;i drank last night&#39;)&lt;/script&gt;" in alert.text


async def test_a_full_telegram_message_and_random_texts_are_answered_and_kept(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await enrol(telegram, sessions)
    chat.seen = len(await telegram.sent_messages(chat.person))
    await telegram.set_rate_limits(enabled=False)
    await says_kindly(chat, sessions, "\u202e<b>" + "x" * 4093)  # 4096 characters: "too long"
    examples: list[str] = []

    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=200)
    )
    def collect(text: str) -> None:
        if text.strip() and not text.startswith("/") and text.strip().upper() not in STOPS:
            examples.append(text)

    collect()
    assert examples
    for text in examples:
        await says_kindly(chat, sessions, text)
    reading = default_classifier().classify("".join(examples))
    assert reading is not None


STOPS = {"STOP", "PARAR", "BAJA"}


async def test_a_message_with_nul_is_kept_with_a_replacement_character_and_answered(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await enrol(telegram, sessions)
    chat.seen = len(await telegram.sent_messages(chat.person))
    update = await chat.send("before\x00after")
    await eventually(lambda: _inbound(sessions, update["update_id"]), "before\ufffdafter")
    await eventually(lambda: _pending(sessions), 0)
    assert (await telegram.sent_messages(chat.person))[chat.seen :]
