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
from service.audit.models import AuditEntry
from service.checkins.models import Checkin, CheckinKind, CheckinStatus
from service.clients.invites import invite_client
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord
from service.columns import utcnow
from service.conversations.models import InboundMessage
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.runtime import Services
from service.sandbox.client import JSON, SandboxClient
from service.staff.models import StaffMember
from tests.people import COORDINATOR, PERSON, Chat, client_of, enrol, link_coordinator


@pytest.mark.parametrize(("language", "thanks"), [("en", "Thank you, Kai"), ("es", "Gracias, Kai")])
async def test_consent_is_recorded_with_the_version_of_its_text(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    language: str,
    thanks: str,
) -> None:
    chat = await enrol(telegram, sessions, language=language, onboard=False)
    messages = await telegram.sent_messages(PERSON)
    assert messages[2]["text"].startswith(thanks)
    assert chat.seen == 4
    client = await client_of(sessions)
    assert client.state == ClientState.onboarding
    async with sessions() as session:
        record = await session.scalar(sa.select(ConsentRecord))
    assert record is not None
    assert (record.decision, record.text_version, record.language) == (
        ConsentDecision.granted,
        "2026-11-26",
        language,
    )
    assert len(await telegram.callback_answers()) == 1  # the button's spinner was stopped


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
    chat = Chat(telegram, PERSON)
    await chat.send(f"/start {issued.token}")
    await chat.press(await chat.says(2), "Not now")
    assert "Nothing will be sent to you" in (await chat.says())["text"]
    assert (await client_of(sessions)).state == ClientState.consent_pending
    await chat.send("/pause")
    assert (await chat.says())["text"].startswith("Before anything else")
    assert (await chat.says())["reply_markup"] is not None


CRISIS = "I took 20 tylenol"


async def _crisis_answer(chat: Chat) -> JSON:
    started = time.monotonic()
    await chat.send(CRISIS)
    answer = await chat.says()
    assert time.monotonic() - started < 2.0
    return answer


async def test_crisis_words_get_the_crisis_response_in_every_state(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(9001, "Stranger")
    assert "911" in (await _crisis_answer(Chat(telegram, 9001)))["text"]  # not even enrolled

    coordinator_id = await link_coordinator(telegram, sessions)
    chat = await enrol(telegram, sessions, coordinator_id=coordinator_id, onboard=False)
    answer = (await _crisis_answer(chat))["text"]  # in the middle of onboarding
    assert "911" in answer and "988" in answer
    await chat.send("/pause")  # a break from what has not started yet: setting up comes first
    assert "once we have finished setting up" in (await chat.says())["text"]
    async with sessions() as session:  # as if the questions were answered
        await session.execute(sa.update(Client).values(state=ClientState.active))
        await session.commit()
    await chat.send("/pause")
    await chat.press(await chat.says(), "1 week")
    assert "paused until" in (await chat.says())["text"]
    assert "911" in (await _crisis_answer(chat))["text"]  # while paused
    await chat.send("STOP")
    assert "Check-ins have stopped" in (await chat.says())["text"]
    assert "911" in (await _crisis_answer(chat))["text"]  # after opting out

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
    assert "/console/alerts/" in staff_alert["text"]


@pytest.mark.parametrize("language", ["en", "es"])
async def test_sos_gives_resources_at_once_and_raises_an_urgent_alert(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    language: str,
) -> None:
    chat = await enrol(telegram, sessions, language=language)
    await chat.send("/sos")
    assert "988" in (await chat.says())["text"]
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
    chat = await enrol(telegram, sessions)
    await chat.send(word)
    await chat.says()
    client = await client_of(sessions)
    assert (client.state, client.next_checkin_at) == (ClientState.opted_out, None)
    await chat.send("/start")
    assert (await chat.says())["text"].startswith("Welcome back, Kai")
    assert (await client_of(sessions)).state == ClientState.active


async def test_pause_for_a_chosen_time_and_resume(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await enrol(telegram, sessions, language="es")
    await chat.send("/pause")
    ask = await chat.says()
    buttons = ask["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["3 días", "1 semana", "2 semanas", "4 semanas"]
    await chat.press(ask, "2 semanas")
    assert "en pausa hasta" in (await chat.says())["text"]
    client = await client_of(sessions)
    assert client.state == ClientState.paused
    assert client.paused_until is not None
    assert timedelta(days=13, hours=23) < client.paused_until - utcnow() <= timedelta(days=14)
    await chat.send("/resume")
    assert "de vuelta" in (await chat.says())["text"]
    resumed = await client_of(sessions)
    assert (resumed.state, resumed.next_checkin_at) == (ClientState.active, None)  # re-planned
    await chat.send("/resume")
    assert "ya están activos" in (await chat.says())["text"]


async def test_anything_else_gets_a_short_kind_answer_and_is_kept(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await enrol(telegram, sessions)
    await telegram.send_sticker(PERSON)
    assert "I can only read text" in (await chat.says())["text"]
    await telegram.send_voice(PERSON)
    assert "/sos" in (await chat.says())["text"]
    sent = await chat.send("hello there")
    answer = await chat.says()
    assert answer["text"] and "hello" not in answer["text"]  # a tailored answer, not an echo
    await telegram.edit_text(PERSON, sent["message"]["message_id"], "hello again")
    assert "edited a message" in (await chat.says())["text"]
    await chat.send("x" * 4000)
    assert "kept every word" in (await chat.says())["text"]
    await telegram.ensure_user(9100, "New", language_code="es")
    stranger = Chat(telegram, 9100)
    await stranger.send("hola")
    assert "Todavía no conozco esta cuenta" in (await stranger.says())["text"]


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


async def test_mydata_shows_what_is_stored_and_delete_erases_it_after_confirmation(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await enrol(telegram, sessions, language="es")
    await chat.send("/mydata")
    shown = (await chat.says())["text"]
    assert "Nombre: Kai" in shown
    assert "Idioma: Español" in shown
    assert "Consentimiento: granted" in shown
    await chat.send("/delete")
    ask = await chat.says()
    await chat.press(ask, "Mejor no")
    assert "No se borró nada" in (await chat.says())["text"]
    await chat.send("/delete")
    await chat.press(await chat.says(), "Sí, bórralo")
    assert "Tus datos se borraron" in (await chat.says())["text"]

    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        assert (client.state, client.first_name, client.telegram_user_id) == (
            ClientState.erased,
            "",
            None,
        )
        kept = await session.scalar(
            sa.select(sa.func.count()).where(col(InboundMessage.client_id) == client.id)
        )
        assert kept == 0
        actions = set(await session.scalars(sa.select(AuditEntry.action)))
    assert {"client.erased", "client.viewed_own_data"} <= actions
    # Writing in distress afterwards still gets an answer.
    await chat.send("I want to die")
    assert "988" in (await chat.says())["text"]


async def test_blocking_the_bot_marks_the_client_unreachable_and_tells_the_coordinator(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coordinator_id = await link_coordinator(telegram, sessions)
    await enrol(telegram, sessions, coordinator_id=coordinator_id)
    await telegram.block(PERSON)
    [note] = await telegram.wait_for_messages(COORDINATOR, 1)
    client = await client_of(sessions)
    assert client.unreachable_since is not None
    assert client.code in note["text"] and "Kai" not in note["text"]
    await telegram.unblock(PERSON)
    for _ in range(100):
        if (await client_of(sessions)).unreachable_since is None:
            break
        await asyncio.sleep(0.05)
    assert (await client_of(sessions)).unreachable_since is None


async def test_a_spanish_speaking_coordinator_reads_the_alert_in_spanish(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coordinator_id = await link_coordinator(telegram, sessions)
    async with sessions() as session:
        staff = await session.get(StaffMember, coordinator_id)
        assert staff is not None
        staff.language = "es"
        await session.commit()
    chat = await enrol(telegram, sessions, coordinator_id=coordinator_id)
    await chat.send("/sos")
    await chat.says()
    [alert] = await telegram.wait_for_messages(COORDINATOR, 1)
    assert "crítica" in alert["text"] and "usó /sos" in alert["text"]
    assert "critical" not in alert["text"]


@pytest.mark.parametrize("how", ["stop", "pause"])
async def test_stopping_or_pausing_cancels_what_the_schedule_had_queued(
    how: str,
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    chat = await enrol(telegram, sessions)
    client = await client_of(sessions)
    assert client.id is not None and client.telegram_chat_id is not None
    now = utcnow()
    async with sessions() as session:  # a check-in still waiting in the outbox (a busy morning)
        checkin = Checkin(
            client_id=client.id,
            kind=CheckinKind.open_question,
            status=CheckinStatus.sent,
            local_date=now.date(),
            scheduled_for=now,
            sent_at=now,
        )
        session.add(checkin)
        await session.flush()
        queued = OutboxMessage(
            chat_id=client.telegram_chat_id,
            lane=Lane.scheduled,
            payload={"text": "How has today been?"},
            client_id=client.id,
            checkin_id=checkin.id,
            not_before=now + timedelta(hours=1),
        )
        session.add(queued)
        await session.commit()
    if how == "stop":
        await chat.send("/stop")
    else:
        await chat.send("/pause")
        await chat.press(await chat.says(), "3 days")
    await chat.says()
    async with sessions() as session:
        row = await session.get(OutboxMessage, queued.id)
        opened = await session.get(Checkin, checkin.id)
    assert row is not None and row.status == OutboxStatus.cancelled
    assert opened is not None and opened.status == CheckinStatus.cancelled  # not a miss
