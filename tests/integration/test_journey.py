"""An alumnus's journey in the chat, driven as a person through the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.clients.invites import invite_client, invite_staff, redeem_invite
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord
from service.columns import utcnow
from service.outbox.models import Lane, OutboxMessage
from service.runtime import Services
from service.sandbox.client import JSON, SandboxClient
from service.staff.models import StaffRole

PERSON = 4242
COORDINATOR = 777


async def enrol(
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    *,
    language: str = "en",
    person: int = PERSON,
    coordinator_id: int | None = None,
) -> list[JSON]:
    """Invite, open the link and agree: what a new alumnus does first."""
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
    await telegram.send_text(person, f"/start {issued.token}")
    _, consent = await telegram.wait_for_messages(person, 2)
    agree = consent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await telegram.press_button(person, consent["message_id"], agree)
    return await telegram.wait_for_messages(person, 3)


async def _client(sessions: async_sessionmaker[AsyncSession], person: int = PERSON) -> Client:
    async with sessions() as session:
        client = await session.scalar(
            sa.select(Client).where(col(Client.telegram_user_id) == person)
        )
    assert client is not None
    return client


async def _last(telegram: SandboxClient, count: int, person: int = PERSON) -> JSON:
    return (await telegram.wait_for_messages(person, count))[-1]


@pytest.mark.parametrize(("language", "thanks"), [("en", "Thank you, Kai"), ("es", "Gracias, Kai")])
async def test_consent_is_recorded_with_the_version_of_its_text(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    language: str,
    thanks: str,
) -> None:
    messages = await enrol(telegram, sessions, language=language)
    assert messages[-1]["text"].startswith(thanks)
    client = await _client(sessions)
    assert client.state == ClientState.active
    async with sessions() as session:
        record = await session.scalar(sa.select(ConsentRecord))
    assert record is not None
    assert (record.decision, record.text_version, record.language) == (
        ConsentDecision.granted,
        "2026-11-26",
        language,
    )
    answers = await telegram.callback_answers()
    assert len(answers) == 1  # the button's spinner was stopped


async def test_not_now_records_the_choice_and_nothing_goes_on_until_consent(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        issued = await invite_client(
            session,
            first_name="Kai",
            timezone="UTC",
            language="en",
            ttl=timedelta(days=1),
            now=utcnow(),
        )
        await session.commit()
    await telegram.ensure_user(PERSON, "Kai")
    await telegram.send_text(PERSON, f"/start {issued.token}")
    _, consent = await telegram.wait_for_messages(PERSON, 2)
    later = consent["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    await telegram.press_button(PERSON, consent["message_id"], later)
    assert "Nothing will be sent to you" in (await _last(telegram, 3))["text"]
    assert (await _client(sessions)).state == ClientState.consent_pending
    await telegram.send_text(PERSON, "/pause")
    asked_again = await telegram.wait_for_messages(PERSON, 5)
    assert asked_again[3]["text"].startswith("Before anything else")
    assert asked_again[4]["reply_markup"] is not None


CRISIS = "I took 20 tylenol"


async def _crisis_answer(telegram: SandboxClient, count: int, person: int = PERSON) -> JSON:
    started = time.monotonic()
    await telegram.send_text(person, CRISIS)
    answer = await _last(telegram, count, person)
    assert time.monotonic() - started < 2.0
    return answer


async def test_crisis_words_get_the_crisis_response_in_every_state(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Before anyone knows them.
    await telegram.ensure_user(9001, "Stranger")
    assert "911" in (await _crisis_answer(telegram, 1, person=9001))["text"]

    # Enrolled, then paused, then stopped: the answer comes every time.
    await telegram.ensure_user(COORDINATOR, "Dana")
    async with sessions() as session:
        staff = await invite_staff(
            session, name="Dana", role=StaffRole.coordinator, ttl=timedelta(days=1), now=utcnow()
        )
        await redeem_invite(
            session, staff.token, telegram_user_id=COORDINATOR, chat_id=COORDINATOR, now=utcnow()
        )
        await session.commit()
    await enrol(telegram, sessions, coordinator_id=staff.subject_id)
    answer = await _crisis_answer(telegram, 4)
    assert "911" in answer["text"]
    await telegram.send_text(PERSON, "/pause")
    ask = await _last(telegram, 5)
    await telegram.press_button(
        PERSON, ask["message_id"], ask["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    )
    assert "paused until" in (await _last(telegram, 6))["text"]
    assert "911" in (await _crisis_answer(telegram, 7))["text"]
    await telegram.send_text(PERSON, "STOP")
    assert "Check-ins have stopped" in (await _last(telegram, 8))["text"]
    assert "911" in (await _crisis_answer(telegram, 9))["text"]

    async with sessions() as session:
        alerts = (await session.scalars(sa.select(Alert))).all()
        crisis_rows = (
            await session.scalars(
                sa.select(OutboxMessage).where(col(OutboxMessage.lane) == Lane.crisis)
            )
        ).all()
    assert [(a.kind, a.status) for a in alerts] == [("overdose", AlertStatus.open)]  # one episode
    assert len(crisis_rows) == 4
    [staff_alert] = await telegram.wait_for_messages(COORDINATOR, 1)
    assert "Kai" not in staff_alert["text"]  # a code, never the name
    assert "/alerts/" in staff_alert["text"]


@pytest.mark.parametrize(("language", "line"), [("en", "988"), ("es", "988")])
async def test_sos_gives_resources_at_once_and_raises_an_urgent_alert(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    language: str,
    line: str,
) -> None:
    await enrol(telegram, sessions, language=language)
    await telegram.send_text(PERSON, "/sos")
    answer = await _last(telegram, 4)
    assert line in answer["text"]
    async with sessions() as session:
        alert = await session.scalar(sa.select(Alert))
    assert alert is not None
    assert (alert.kind, alert.severity) == ("sos", "critical")


@pytest.mark.parametrize("word", ["STOP", "Parar", "baja."])
async def test_stop_words_opt_out_and_start_brings_them_back(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    word: str,
) -> None:
    await enrol(telegram, sessions)
    await telegram.send_text(PERSON, word)
    await _last(telegram, 4)
    client = await _client(sessions)
    assert (client.state, client.next_checkin_at) == (ClientState.opted_out, None)
    await telegram.send_text(PERSON, "/start")
    assert (await _last(telegram, 5))["text"].startswith("Welcome back, Kai")
    assert (await _client(sessions)).state == ClientState.active


async def test_pause_for_a_chosen_time_and_resume(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await enrol(telegram, sessions, language="es")
    await telegram.send_text(PERSON, "/pause")
    ask = await _last(telegram, 4)
    buttons = ask["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["3 días", "1 semana", "2 semanas", "4 semanas"]
    await telegram.press_button(PERSON, ask["message_id"], buttons[2]["callback_data"])
    assert "en pausa hasta" in (await _last(telegram, 5))["text"]
    client = await _client(sessions)
    assert client.state == ClientState.paused
    assert client.paused_until is not None
    assert timedelta(days=13, hours=23) < client.paused_until - utcnow() <= timedelta(days=14)
    await telegram.send_text(PERSON, "/resume")
    assert "de vuelta" in (await _last(telegram, 6))["text"]
    await telegram.send_text(PERSON, "/resume")
    assert "ya están activos" in (await _last(telegram, 7))["text"]


async def test_anything_else_gets_a_short_kind_answer_and_is_kept(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await enrol(telegram, sessions)
    await telegram.send_sticker(PERSON)
    assert "I can only read text" in (await _last(telegram, 4))["text"]
    await telegram.send_voice(PERSON)
    assert "/sos" in (await _last(telegram, 5))["text"]
    sent = await telegram.send_text(PERSON, "hello there")
    await telegram.edit_text(PERSON, sent["message"]["message_id"], "hello again")
    assert "edited a message" in (await _last(telegram, 6))["text"]
    await telegram.send_text(PERSON, "x" * 4000)
    assert "kept every word" in (await _last(telegram, 7))["text"]
    await telegram.ensure_user(9100, "New", language_code="es")
    await telegram.send_text(9100, "hola")
    assert "Todavía no conozco esta cuenta" in (await _last(telegram, 1, person=9100))["text"]


async def test_the_command_menu_is_registered_in_both_languages(
    bot_service: Services, telegram: SandboxClient
) -> None:
    for _ in range(50):
        commands = await telegram.commands()
        if len(commands) == 2:
            break
        await asyncio.sleep(0.05)
    by_language = {entry.get("language_code") or "en": entry for entry in commands}
    assert set(by_language) == {"en", "es"}
    assert "sos" in str(by_language["es"])
