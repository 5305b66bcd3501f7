"""Queueing the bot's answers: every reply is an outbox row in the update's transaction."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from service.bot.callbacks import Keyboard
from service.clients.models import Client
from service.outbox.models import Lane
from service.outbox.service import enqueue, enqueue_call
from service.staff.models import StaffMember


async def reply(
    session: AsyncSession,
    chat_id: int,
    text: str,
    *,
    to: Client | StaffMember | None = None,
    lane: Lane = Lane.reply,
    keyboard: InlineKeyboardMarkup | Keyboard | None = None,
    reason: dict[str, Any] | None = None,
    template_version_id: int | None = None,
) -> None:
    await enqueue(
        session,
        chat_id=chat_id,
        text=text,
        lane=lane,
        reply_markup=(
            keyboard.model_dump(exclude_none=True)
            if isinstance(keyboard, InlineKeyboardMarkup)
            else keyboard
        ),
        client_id=to.id if isinstance(to, Client) else None,
        staff_member_id=to.id if isinstance(to, StaffMember) else None,
        reason=reason,
        template_version_id=template_version_id,
    )


async def answer_button(session: AsyncSession, query: CallbackQuery) -> None:
    """Stop the button's spinner (through the outbox, like every call to Telegram)."""
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await enqueue_call(
        session,
        chat_id=chat_id,
        method="answerCallbackQuery",
        payload={"callback_query_id": query.id},
    )
