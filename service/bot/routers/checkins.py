"""Check-in conversations in the chat: /checkin asks a 0-10 question with buttons, the answer gets
a follow-up that fits it, the weekly check-in is answered one tap at a time, and anything an
enrolled client writes gets a tailored answer within seconds (an affirmation or a reflection of
what matters to them), linked to the check-in."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.bot.callbacks import Keyboard, ScaleAnswer, WeeklyAnswer
from service.bot.consent import NOT_ENROLLED_YET, enrolled
from service.bot.replies import answer_button, reply
from service.bot.texts import text
from service.checkins.models import Checkin
from service.checkins.service import (
    SCALE_MAX,
    answer_words,
    next_question,
    open_checkin,
    record_scale,
    scale_keyboard,
)
from service.checkins.weekly import take_answer
from service.clients.models import Client, ClientState
from service.columns import utcnow
from service.content.service import Composed, Messaging
from service.conversations.models import InboundMessage
from service.outbox.service import enqueue_call
from service.signals.classifier import Reading
from service.signals.service import record_reading

SCALES = ("mood", "craving", "confidence")
LONG_TEXT = 2000  # more than a check-in answer: acknowledged, kept for the care team


def build_router() -> Router:
    router = Router(name="checkins")
    router.message.filter(F.chat.type == "private")
    router.message.register(checkin_now, Command("checkin"))
    router.callback_query.register(scale_answer, ScaleAnswer.filter())
    router.callback_query.register(weekly_answer, WeeklyAnswer.filter())
    router.message.register(
        words, F.text, ~F.text.startswith("/"), lambda _, client: is_answerable(client)
    )
    return router


async def _send(
    session: AsyncSession,
    client: Client,
    composed: Composed,
    keyboard: Keyboard | None = None,
) -> None:
    assert client.telegram_chat_id is not None
    await reply(
        session,
        client.telegram_chat_id,
        composed.text,
        to=client,
        keyboard=keyboard,
        reason=composed.reason,
        template_version_id=composed.template_version_id,
    )


async def checkin_now(
    message: Message, session: AsyncSession, client: Client | None, messaging: Messaging
) -> None:
    if not await enrolled(session, message, client):
        return
    assert client is not None
    question = await next_question(session, client)
    opened = await open_checkin(session, client, messaging, utcnow(), question=question)
    if opened is None:
        return
    checkin, composed = opened
    assert checkin.id is not None
    keyboard = None if question == "open" else scale_keyboard(checkin.id, question)
    await _send(session, client, composed, keyboard=keyboard)


async def scale_answer(
    query: CallbackQuery,
    callback_data: ScaleAnswer,
    session: AsyncSession,
    client: Client | None,
    messaging: Messaging,
) -> None:
    await answer_button(session, query)
    if client is None or callback_data.scale not in SCALES:
        return
    if not 0 <= callback_data.value <= SCALE_MAX:
        return
    checkin = await session.get(Checkin, callback_data.checkin_id)
    if checkin is None or checkin.client_id != client.id:
        return
    composed = await record_scale(
        session,
        client,
        checkin,
        messaging,
        utcnow(),
        scale=callback_data.scale,
        value=callback_data.value,
    )
    if composed is not None:
        await _send(session, client, composed)


async def weekly_answer(
    query: CallbackQuery,
    callback_data: WeeklyAnswer,
    session: AsyncSession,
    client: Client | None,
    messaging: Messaging,
) -> None:
    """One tap of the weekly check-in: the next question or the summary comes, then the tapped
    buttons go. A tap that cannot count (a double tap, a stale button) gets a kind word only."""
    if client is None or client.telegram_chat_id is None:
        await answer_button(session, query)
        return
    following = await take_answer(
        session,
        client,
        messaging,
        utcnow(),
        checkin_id=callback_data.checkin_id,
        index=callback_data.index,
        value=callback_data.value,
    )
    if following is None:
        await enqueue_call(
            session,
            chat_id=client.telegram_chat_id,
            method="answerCallbackQuery",
            payload={
                "callback_query_id": query.id,
                "text": text(client.language, "weekly_already"),
            },
        )
        return
    await answer_button(session, query)
    await reply(
        session,
        client.telegram_chat_id,
        following.text,
        to=client,
        keyboard=following.keyboard,
        reason={"category": "weekly", "step": following.step},
    )
    if query.message is not None:  # after the reply, which pacing would otherwise hold back
        await enqueue_call(  # without reply_markup: the keyboard is removed
            session,
            chat_id=client.telegram_chat_id,
            method="editMessageReplyMarkup",
            payload={"message_id": query.message.message_id},
        )


async def words(
    message: Message,
    *,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client,
    messaging: Messaging,
    reading: Reading | None,
) -> None:
    """Whatever an enrolled client writes is kept with what it says, and answered."""
    assert client.telegram_chat_id is not None
    now = utcnow()
    if reading is not None:
        await record_reading(session, client, inbound, reading, now=now, messaging=messaging)
    if len(message.text or "") > LONG_TEXT:
        await reply(session, client.telegram_chat_id, text(client.language, "too_long"), to=client)
        return
    await answer(
        session, client, messaging, inbound, now, talk=reading.talk if reading else "neutral"
    )


async def answer(
    session: AsyncSession,
    client: Client,
    messaging: Messaging,
    inbound: InboundMessage,
    now: datetime,
    *,
    care: str | None = None,
    talk: str = "neutral",
) -> None:
    """Answer a client's words (see ``answer_words``) and link them to their check-in."""
    answer = await answer_words(
        session, client, messaging, now, replies=inbound.id or 0, care=care, talk=talk
    )
    if answer is None:
        return
    if answer.checkin is not None:
        inbound.checkin_id = answer.checkin.id
    await _send(session, client, answer.composed)


def is_answerable(client: Client | None) -> bool:
    """A consented client (others are for the fallback: consent first, or how to enrol)."""
    return client is not None and client.state not in {*NOT_ENROLLED_YET, ClientState.erased}
