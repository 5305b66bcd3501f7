"""A client's journey in the chat: consent, pause and resume, stop and coming back, help.

Every command works whatever the conversation state. Nothing is scheduled before consent; stopping
ends everything scheduled but never the answer to someone who writes in distress (the safety
router runs before this one).
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.bot.callbacks import ConsentChoice, PauseChoice
from service.bot.replies import reply
from service.bot.texts import language_of, text
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord
from service.columns import utcnow
from service.outbox.service import enqueue_call

CONSENT_VERSION = "2026-11-26"
PAUSE_DAYS = (3, 7, 14, 28)
STOP_WORDS = frozenset({"stop", "parar", "baja", "alto", "unsubscribe"})
NOT_ENROLLED_YET = (ClientState.invited, ClientState.consent_pending)


def build_router() -> Router:
    router = Router(name="journey")
    router.message.filter(F.chat.type == "private")
    router.message.register(stop, Command("stop"))
    router.message.register(stop, F.text.func(is_stop_word))
    router.message.register(help_, Command("help"))
    router.message.register(pause, Command("pause"))
    router.message.register(resume, Command("resume"))
    router.callback_query.register(consent_choice, ConsentChoice.filter())
    router.callback_query.register(pause_choice, PauseChoice.filter())
    return router


def is_stop_word(value: str) -> bool:
    return re.sub(r"[\W_]+", "", value).lower() in STOP_WORDS


def consent_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=text(language, "consent_agree"),
                    callback_data=ConsentChoice(agree=True).pack(),
                ),
                InlineKeyboardButton(
                    text=text(language, "consent_later"),
                    callback_data=ConsentChoice(agree=False).pack(),
                ),
            ]
        ]
    )


async def ask_consent(session: AsyncSession, client: Client, *, first: bool = False) -> None:
    assert client.telegram_chat_id is not None
    if first:
        await reply(
            session, client.telegram_chat_id, text(client.language, "consent_first"), to=client
        )
    await reply(
        session,
        client.telegram_chat_id,
        text(client.language, "consent"),
        to=client,
        keyboard=consent_keyboard(client.language),
    )


async def has_consented(session: AsyncSession, client: Client) -> bool:
    latest = await session.scalar(
        sa.select(col(ConsentRecord.decision))
        .where(col(ConsentRecord.client_id) == client.id)
        .order_by(col(ConsentRecord.id).desc())
        .limit(1)
    )
    return latest == ConsentDecision.granted


async def _enrolled(session: AsyncSession, message: Message, client: Client | None) -> bool:
    """True for a client who consented; otherwise answer what they need first."""
    if client is None:
        assert message.from_user is not None
        language = language_of(message.from_user.language_code)
        await reply(session, message.chat.id, text(language, "not_enrolled"))
        return False
    if client.state in NOT_ENROLLED_YET:
        await ask_consent(session, client, first=True)
        return False
    return True


async def consent_choice(
    query: CallbackQuery,
    callback_data: ConsentChoice,
    session: AsyncSession,
    client: Client | None,
) -> None:
    await _answer(session, query)
    if client is None or client.id is None or client.telegram_chat_id is None:
        return
    decision = ConsentDecision.granted if callback_data.agree else ConsentDecision.declined
    session.add(
        ConsentRecord(
            client_id=client.id,
            decision=decision,
            text_version=CONSENT_VERSION,
            language=client.language,
        )
    )
    await record_audit(session, ActorKind.client, f"consent.{decision.value}", "client", client.id)
    if callback_data.agree:
        if client.state in NOT_ENROLLED_YET or client.state == ClientState.opted_out:
            client.state = ClientState.active
            client.updated_at = utcnow()
        key = "consent_given"
    else:
        key = "consent_declined"
    await reply(
        session,
        client.telegram_chat_id,
        text(client.language, key, first_name=client.first_name),
        to=client,
    )


async def stop(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if client is None:
        assert message.from_user is not None
        language = language_of(message.from_user.language_code)
        await reply(session, message.chat.id, text(language, "not_enrolled"))
        return
    client.state = ClientState.opted_out
    client.next_checkin_at = None
    client.paused_until = None
    client.updated_at = utcnow()
    await state.clear()
    await record_audit(session, ActorKind.client, "client.opted_out", "client", client.id)
    await reply(
        session,
        message.chat.id,
        text(client.language, "stopped", first_name=client.first_name),
        to=client,
    )


async def help_(message: Message, session: AsyncSession, client: Client | None) -> None:
    assert message.from_user is not None
    language = client.language if client else language_of(message.from_user.language_code)
    await reply(session, message.chat.id, text(language, "help"), to=client)


async def pause(message: Message, session: AsyncSession, client: Client | None) -> None:
    if not await _enrolled(session, message, client):
        return
    assert client is not None
    language = client.language
    labels = {
        3: text(language, "pause_days", days="3"),
        7: text(language, "pause_week"),
        14: text(language, "pause_weeks", weeks="2"),
        28: text(language, "pause_weeks", weeks="4"),
    }
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=labels[days], callback_data=PauseChoice(days=days).pack())
                for days in PAUSE_DAYS
            ]
        ]
    )
    await reply(session, message.chat.id, text(language, "pause_ask"), to=client, keyboard=keyboard)


async def pause_choice(
    query: CallbackQuery,
    callback_data: PauseChoice,
    session: AsyncSession,
    client: Client | None,
) -> None:
    await _answer(session, query)
    if client is None or client.telegram_chat_id is None or client.state in NOT_ENROLLED_YET:
        return
    if callback_data.days not in PAUSE_DAYS:
        return
    now = utcnow()
    client.state = ClientState.paused
    client.paused_until = now + timedelta(days=callback_data.days)
    client.updated_at = now
    until = client.paused_until.astimezone(ZoneInfo(client.timezone)).date().isoformat()
    await record_audit(
        session,
        ActorKind.client,
        "client.paused",
        "client",
        client.id,
        detail={"days": callback_data.days},
    )
    await reply(
        session, client.telegram_chat_id, text(client.language, "paused", until=until), to=client
    )


async def resume(message: Message, session: AsyncSession, client: Client | None) -> None:
    if not await _enrolled(session, message, client):
        return
    assert client is not None
    if client.state not in {ClientState.paused, ClientState.opted_out}:
        key = "not_paused"
    else:
        client.state = ClientState.active
        client.paused_until = None
        client.updated_at = utcnow()
        await record_audit(session, ActorKind.client, "client.resumed", "client", client.id)
        key = "resumed"
    await reply(
        session,
        message.chat.id,
        text(client.language, key, first_name=client.first_name),
        to=client,
    )


async def _answer(session: AsyncSession, query: CallbackQuery) -> None:
    """Stop the button's spinner (through the outbox, like every call to Telegram)."""
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await enqueue_call(
        session,
        chat_id=chat_id,
        method="answerCallbackQuery",
        payload={"callback_query_id": query.id},
    )
