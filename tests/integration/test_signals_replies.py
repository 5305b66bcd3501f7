"""What a client writes is read for risk and talk: a relapse is answered as information, a request
for a person and a craving are answered and told to the care team, in any state; sustain talk
that persists is a low alert with the replies quoted, and a run of change talk a strength."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.bot.routers import safety
from service.clients.models import Client, ClientState
from service.clients.privacy import erase
from service.columns import utcnow
from service.conversations.models import InboundMessage
from service.outbox.models import Lane, OutboxMessage
from service.runtime import Services
from service.sandbox.client import SandboxClient
from service.signals.models import Signal, SignalKind
from service.signals.service import PERSISTS, TALK_WINDOW
from tests.people import COORDINATOR, Chat, client_of, enrol, link_coordinator
from tests.waiting import eventually


async def _enrolled_with_coordinator(
    telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession], language: str = "en"
) -> Chat:
    coordinator_id = await link_coordinator(telegram, sessions)
    chat = await enrol(telegram, sessions, language=language, coordinator_id=coordinator_id)
    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        client.values = ["family"]
        await session.commit()
    return chat


async def _last_reply(sessions: async_sessionmaker[AsyncSession]) -> OutboxMessage:
    async with sessions() as session:
        row = await session.scalar(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.client_id).is_not(None))
            .order_by(col(OutboxMessage.id).desc())
            .limit(1)
        )
    assert row is not None
    return row


async def _signals(sessions: async_sessionmaker[AsyncSession]) -> list[Signal]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(Signal).order_by(col(Signal.id))))


async def _alerts(sessions: async_sessionmaker[AsyncSession]) -> list[Alert]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(Alert).order_by(col(Alert.id))))


async def _set_state(sessions: async_sessionmaker[AsyncSession], state: ClientState) -> None:
    async with sessions() as session:
        client = await session.scalar(sa.select(Client))
        assert client is not None
        client.state = state
        await session.commit()


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "i drank last night"), ("es", "recaí el fin de semana, tomé mucho")],
)
async def test_a_relapse_is_met_as_information_and_the_coordinator_is_told(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    language: str,
    words: str,
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions, language)
    await chat.send(words)
    answer = await chat.says()
    reply = await _last_reply(sessions)
    assert reply.reason["category"] == "relapse_response"
    assert answer["text"] == reply.payload["text"]
    [signal] = [s for s in await _signals(sessions) if s.kind == SignalKind.relapse]
    assert signal.severity == "high"
    assert signal.evidence["words"] and signal.evidence["words"].lower() in words.lower()
    assert signal.inbound_message_id is not None
    [alert] = await _alerts(sessions)
    assert (alert.kind, alert.severity) == ("relapse", "high")
    told = await telegram.wait_for_messages(COORDINATOR, 1)
    assert (await client_of(sessions)).code in told[-1]["text"]
    assert words not in told[-1]["text"]  # the client's words stay out of Telegram by default


@pytest.mark.parametrize("state", [ClientState.paused, ClientState.opted_out])
async def test_risks_are_answered_and_alerted_while_paused_or_opted_out(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    state: ClientState,
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    await _set_state(sessions, state)
    await chat.send("can someone from my team call me? im not ok")
    answer = await chat.says()
    reply = await _last_reply(sessions)
    assert (reply.lane, reply.reason["category"]) == (Lane.crisis, "crisis_response")
    assert "988" in answer["text"]
    await chat.send("i really want to use right now, my old dealer just texted me")
    await chat.says()
    reply = await _last_reply(sessions)
    assert (reply.reason["category"], reply.reason["scale"]) == ("scale_followup", "craving")
    kinds = {signal.kind for signal in await _signals(sessions)}
    assert {SignalKind.help_request, SignalKind.craving} <= kinds
    # One alert for the episode: the craving updated the open help_request alert.
    [alert] = await _alerts(sessions)
    assert alert.severity == "high"


async def test_words_that_only_sound_risky_get_the_usual_answer_and_no_signal(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    for words in ("im not going to drink tonight", "this heat is killing me lol"):
        await chat.send(words)
        await chat.says()
        assert (await _last_reply(sessions)).reason["category"] in {
            "affirmation",
            "values_reflection",
        }
    assert [s.kind for s in await _signals(sessions) if s.severity != "info"] == []
    assert await _alerts(sessions) == []


async def test_talk_of_stopping_medication_is_a_low_alert_at_once(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    await chat.send("thinking about stopping my suboxone, i dont think i need it anymore")
    await chat.says()
    [alert] = await _alerts(sessions)
    assert (alert.kind, alert.severity) == ("sustain_talk", "low")
    # Rolling with it: a reflection of what matters to them, not a lecture.
    assert (await _last_reply(sessions)).reason["category"] == "values_reflection"


SUSTAIN = (
    "one drink wont hurt anybody",
    "honestly i dont think i have a problem",
    "i miss it sometimes, it was fun",
)
NEUTRAL = ("went to the store today", "my sister visited")
CHANGE = (
    "i want to stay sober for my kids",
    "i went to a meeting last night and it helped",
    "im going to call my sponsor every day this week",
)


async def test_sustain_talk_that_persists_is_a_low_alert_quoting_the_replies(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert (len(SUSTAIN), TALK_WINDOW) == (PERSISTS, 5)
    chat = await _enrolled_with_coordinator(telegram, sessions)
    for words in (SUSTAIN[0], NEUTRAL[0], SUSTAIN[1]):
        await chat.send(words)
        await chat.says()
    assert await _alerts(sessions) == []  # two of the last replies: not yet
    await chat.send(NEUTRAL[1])
    await chat.says()
    await chat.send(SUSTAIN[2])  # three of the last five
    await chat.says()
    [alert] = await _alerts(sessions)
    assert (alert.kind, alert.severity) == ("sustain_talk", "low")
    [persisting] = [s for s in await _signals(sessions) if s.severity == "low"]
    assert persisting.evidence["in_recent_replies"] == "3 of 5"
    async with sessions() as session:
        quoted = list(
            await session.scalars(
                sa.select(InboundMessage.text).where(
                    col(InboundMessage.id).in_(persisting.evidence["replies"])
                )
            )
        )
    assert sorted(quoted) == sorted(SUSTAIN)


async def test_a_run_of_change_talk_is_kept_as_a_strength_without_an_alert(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    for words in CHANGE:
        await chat.send(words)
        await chat.says()
    signals = [s for s in await _signals(sessions) if s.kind == SignalKind.change_talk]
    assert len(signals) == len(CHANGE)
    assert all(signal.severity == "info" for signal in signals)
    assert signals[-1].evidence["in_recent_replies"] == "3 of 3"
    assert "in_recent_replies" not in signals[0].evidence
    assert await _alerts(sessions) == []


async def test_older_replies_fall_out_of_the_window(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    for words in (SUSTAIN[0], SUSTAIN[1], *NEUTRAL, "fine today", "work was busy", SUSTAIN[2]):
        await chat.send(words)
        await chat.says()
    assert await _alerts(sessions) == []


async def test_anyone_asking_for_a_person_gets_resources_enrolled_or_not(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await telegram.ensure_user(9001, "Sam", language_code="es")
    stranger = Chat(telegram, 9001)
    await stranger.send("necesito hablar con alguien, no estoy bien")
    answer = await stranger.says()
    assert "988" in answer["text"]
    async with sessions() as session:
        row = await session.scalar(sa.select(OutboxMessage).order_by(col(OutboxMessage.id)))
    assert row is not None and row.lane == Lane.crisis
    assert await _signals(sessions) == []  # nobody's record to keep it in


async def _crisis_rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(
            await session.scalars(
                sa.select(OutboxMessage)
                .where(col(OutboxMessage.lane) == Lane.crisis)
                .order_by(col(OutboxMessage.id))
            )
        )


async def test_danger_in_an_edit_a_caption_or_the_other_language_gets_the_crisis_response(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)  # an English-speaking client
    sent = await chat.send("rough night")
    await chat.says()
    await telegram.edit_text(chat.person, sent["message"]["message_id"], "i want to end it all")
    await chat.says()
    await telegram.send_photo(chat.person, caption="i took all my pills 💊💊💊")
    await chat.says()
    await chat.send("ya no quiero vivir")
    await chat.says()
    rows = await _crisis_rows(sessions)
    assert len(rows) == 3 and all("911" in row.payload["text"] for row in rows)
    kinds = [signal.kind for signal in await _signals(sessions)]
    assert kinds.count(SignalKind.self_harm) == 3


async def test_a_crisis_answer_stands_when_keeping_its_alert_fails(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the alert path")

    monkeypatch.setattr(safety, "record_reading", broken)
    await chat.send("i want to kill myself")
    assert "988" in (await chat.says())["text"]
    [row] = await _crisis_rows(sessions)
    assert row.reason["category"] == "crisis_response"  # the library's, not the fallback


async def test_when_handling_words_of_danger_fails_the_plain_crisis_answer_goes_out(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await telegram.ensure_user(9002, "Lu", language_code="es")
    stranger = Chat(telegram, 9002)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the crisis response")

    monkeypatch.setattr(safety, "respond_to_crisis", broken)
    await stranger.send("tomé muchas pastillas y no me siento bien")
    answer = await stranger.says()
    assert "911" in answer["text"] and "988" in answer["text"]
    assert "equipo" not in answer["text"]  # no care team to tell
    [row] = await _crisis_rows(sessions)
    assert row.reason == {"category": "crisis_response", "fallback": True}
    async with sessions() as session:  # and the words are kept
        kept = await session.scalar(
            sa.select(InboundMessage.text).where(col(InboundMessage.telegram_user_id) == 9002)
        )
    assert kept == "tomé muchas pastillas y no me siento bien"


async def test_new_danger_after_the_alert_was_acknowledged_tells_the_team_again(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    await chat.send("i want to kill myself")
    await chat.says()
    [first] = await telegram.wait_for_messages(COORDINATOR, 1)
    acknowledge = first["reply_markup"]["inline_keyboard"][0][0]
    await telegram.press_button(COORDINATOR, first["message_id"], acknowledge["callback_data"])
    await eventually(lambda: _alert_status(sessions), AlertStatus.acknowledged, within=5)
    await chat.send("im going to take all of them tonight, i just want to die")
    await chat.says()
    told = await telegram.wait_for_messages(COORDINATOR, 2)
    assert (await client_of(sessions)).code in told[-1]["text"]
    [alert] = await _alerts(sessions)
    assert alert.status == AlertStatus.open  # reopened: one episode, told again


async def _alert_status(sessions: async_sessionmaker[AsyncSession]) -> AlertStatus | None:
    return (await _alerts(sessions))[0].status


async def test_erasure_removes_the_care_teams_alert_messages(
    bot_service: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _enrolled_with_coordinator(telegram, sessions)
    await chat.send("i relapsed last night")
    await chat.says()
    await telegram.wait_for_messages(COORDINATOR, 1)
    staff_rows = sa.select(sa.func.count()).where(
        col(OutboxMessage.reason)["alert_id"].astext.is_not(None)
    )
    async with sessions() as session:
        assert await session.scalar(staff_rows) == 1
        client = await session.scalar(sa.select(Client))
        assert client is not None
        await erase(session, client, utcnow())
        await session.commit()
        assert await session.scalar(staff_rows) == 0
