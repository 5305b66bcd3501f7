"""Consent: asked before anything else, recorded with the version of its text."""

from __future__ import annotations

import sqlalchemy as sa
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.bot.callbacks import ConsentChoice
from service.bot.replies import reply
from service.bot.texts import language_of, text
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord

CONSENT_VERSION = "2026-11-26"
NOT_ENROLLED_YET = (ClientState.invited, ClientState.consent_pending)


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


async def enrolled(session: AsyncSession, message: Message, client: Client | None) -> bool:
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
