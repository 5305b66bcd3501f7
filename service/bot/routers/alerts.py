"""The care team's buttons under alerts (Acknowledge, Call back requested, Resolve), pressed in
a staff member's own chat or in the team chat. Only an active staff member may act; anyone else
is told so politely. The alert's messages are edited to show who acted, through the outbox."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.service import AlertChoice, Pressed, act_on_alert, toast
from service.bot.callbacks import AlertAction
from service.columns import utcnow
from service.content.service import Messaging
from service.outbox.models import Lane
from service.outbox.service import enqueue_call
from service.staff.models import StaffMember

CHATS = frozenset({"private", "group", "supergroup"})


def build_router() -> Router:
    router = Router(name="alerts")
    router.callback_query.register(act, AlertAction.filter(), F.message.chat.type.in_(CHATS))
    return router


async def act(
    query: CallbackQuery,
    callback_data: AlertAction,
    session: AsyncSession,
    staff: StaffMember | None,
    messaging: Messaging,
) -> None:
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    if staff is None or not staff.active:
        await _answer(
            session,
            chat_id,
            query,
            toast(query.from_user.language_code or "en", "alert_staff_only"),
        )
        return
    try:
        choice = AlertChoice(callback_data.action)
    except ValueError:  # a button of another release: nothing to do
        await _answer(session, chat_id, query, None)
        return
    pressed = (
        Pressed(message.chat.id, message.message_id, message.html_text)
        if isinstance(message, Message) and message.text is not None
        else None
    )
    acted = await act_on_alert(
        session,
        callback_data.alert_id,
        choice,
        staff,
        now=utcnow(),
        messaging=messaging,
        pressed=pressed,
    )
    await _answer(session, chat_id, query, acted.answer)


async def _answer(
    session: AsyncSession, chat_id: int, query: CallbackQuery, answer: str | None
) -> None:
    """Stop the button's spinner, with a short note for the person who pressed."""
    payload: dict[str, str] = {"callback_query_id": query.id}
    if answer:
        payload["text"] = answer
    await enqueue_call(
        session, chat_id=chat_id, method="answerCallbackQuery", payload=payload, lane=Lane.alert
    )
