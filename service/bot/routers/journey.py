"""A client's journey in the chat: consent, pause and resume, stop and coming back, help.

Every command works whatever the conversation state. Nothing is scheduled before consent; stopping
ends everything scheduled but never the answer to someone who writes in distress (the safety
router runs before this one).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.service import tell_coordinator
from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.bot.callbacks import DeleteChoice, PauseChoice
from service.bot.consent import NOT_ENROLLED_YET, enrolled
from service.bot.replies import answer_button, reply
from service.bot.texts import VALUE_BUTTONS, language_of, text
from service.checkins.service import stop_schedule
from service.clients import actions
from service.clients.models import Client, ClientState
from service.clients.privacy import erase, stored_data
from service.columns import utcnow
from service.content.service import Messaging
from service.staff.models import StaffMember

PAUSE_DAYS = (3, 7, 14, 28)
STOP_WORDS = frozenset({"stop", "parar", "baja", "alto", "unsubscribe"})


def build_router() -> Router:
    router = Router(name="journey")
    router.message.filter(F.chat.type == "private")
    router.message.register(stop, Command("stop"))
    router.message.register(stop, F.text.func(is_stop_word))
    router.message.register(help_, Command("help"))
    router.message.register(pause, Command("pause"))
    router.message.register(resume, Command("resume"))
    router.callback_query.register(pause_choice, PauseChoice.filter())
    router.my_chat_member.register(membership_changed)
    router.message.register(my_data, Command("mydata"))
    router.message.register(delete, Command("delete"))
    router.callback_query.register(delete_choice, DeleteChoice.filter())
    return router


def is_stop_word(value: str) -> bool:
    return re.sub(r"[\W_]+", "", value).lower() in STOP_WORDS


async def stop(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if client is None:
        assert message.from_user is not None
        language = language_of(message.from_user.language_code)
        await reply(session, message.chat.id, text(language, "not_enrolled"))
        return
    client.state = ClientState.opted_out
    await stop_schedule(session, client)
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


async def help_(
    message: Message, session: AsyncSession, client: Client | None, staff: StaffMember | None
) -> None:
    assert message.from_user is not None
    if staff is not None and client is None:
        await reply(session, message.chat.id, text(staff.language, "staff_help"), to=staff)
        return
    language = client.language if client else language_of(message.from_user.language_code)
    await reply(session, message.chat.id, text(language, "help"), to=client)


async def pause(message: Message, session: AsyncSession, client: Client | None) -> None:
    if not await enrolled(session, message, client):
        return
    assert client is not None
    language = client.language
    if client.state == ClientState.onboarding:  # a break from what has not started yet
        await reply(session, message.chat.id, text(language, "pause_after_onboarding"), to=client)
        return
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
    await answer_button(session, query)
    if client is None or client.telegram_chat_id is None or client.state in NOT_ENROLLED_YET:
        return
    if callback_data.days not in PAUSE_DAYS:
        return
    try:
        ends = await actions.pause(
            session, client, days=callback_data.days, now=utcnow(), by=actions.CLIENT
        )
    except actions.NotNow:  # stopped since the question (/start comes first), or not set up yet
        if client.state == ClientState.onboarding:
            await reply(
                session,
                client.telegram_chat_id,
                text(client.language, "pause_after_onboarding"),
                to=client,
            )
        return
    until = ends.astimezone(ZoneInfo(client.timezone)).date().isoformat()
    await reply(
        session, client.telegram_chat_id, text(client.language, "paused", until=until), to=client
    )


async def resume(message: Message, session: AsyncSession, client: Client | None) -> None:
    if not await enrolled(session, message, client):
        return
    assert client is not None
    try:
        await actions.resume(session, client, now=utcnow(), by=actions.CLIENT)
        key = "resumed"
    except actions.NotNow:
        key = "not_paused"
    await reply(
        session,
        message.chat.id,
        text(client.language, key, first_name=client.first_name),
        to=client,
    )


async def my_data(message: Message, session: AsyncSession, client: Client | None) -> None:
    if client is None:
        assert message.from_user is not None
        language = language_of(message.from_user.language_code)
        await reply(session, message.chat.id, text(language, "not_enrolled"))
        return
    stored = await stored_data(session, client)
    language = client.language
    nothing = text(language, "nothing")
    labels = VALUE_BUTTONS[language]
    consent = (
        f"{stored.consent.decision} {stored.consent.recorded_at.date()} "
        f"(v{stored.consent.text_version})"
        if stored.consent
        else nothing
    )
    start, end = client.checkin_window_start, client.checkin_window_end
    details = text(
        language,
        "mydata",
        first_name=client.first_name,
        code=client.code,
        lang_name={"en": "English", "es": "Español"}[language],
        timezone=client.timezone,
        window=f"{start:%H:%M}-{end:%H:%M}",
        values=", ".join(labels.get(v, v) for v in client.values) or nothing,
        reasons="; ".join(f"“{words}”" for words in client.reasons.values()) or nothing,
        discharge=str(client.discharge_date or nothing),
        sobriety=str(client.sobriety_date or nothing),
        consent=consent,
        inbound=str(stored.inbound),
        outbound=str(stored.outbound),
    )
    await reply(session, message.chat.id, details, to=client)


async def delete(message: Message, session: AsyncSession, client: Client | None) -> None:
    if client is None:
        assert message.from_user is not None
        language = language_of(message.from_user.language_code)
        await reply(session, message.chat.id, text(language, "not_enrolled"))
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=text(client.language, "delete_yes"),
                    callback_data=DeleteChoice(erase=True).pack(),
                ),
                InlineKeyboardButton(
                    text=text(client.language, "delete_no"),
                    callback_data=DeleteChoice(erase=False).pack(),
                ),
            ]
        ]
    )
    await reply(
        session, message.chat.id, text(client.language, "delete_ask"), to=client, keyboard=keyboard
    )


async def delete_choice(
    query: CallbackQuery,
    *,
    callback_data: DeleteChoice,
    session: AsyncSession,
    client: Client | None,
    state: FSMContext,
    messaging: Messaging,
) -> None:
    await answer_button(session, query)
    if client is None or client.telegram_chat_id is None:
        return
    chat_id, language = client.telegram_chat_id, client.language
    if not callback_data.erase:
        await reply(session, chat_id, text(language, "delete_kept"), to=client)
        return
    await state.clear()
    await erase(session, client, utcnow())
    await reply(session, chat_id, text(language, "deleted"))  # linked to no one: nothing is left
    await tell_coordinator(session, client, messaging, "erased_note")


async def membership_changed(
    event: ChatMemberUpdated,
    session: AsyncSession,
    client: Client | None,
    messaging: Messaging,
) -> None:
    """The client blocked (or unblocked) the bot: mark them unreachable and tell the coordinator."""
    if client is None or event.chat.type != "private":
        return
    blocked = event.new_chat_member.status == ChatMemberStatus.KICKED
    now = utcnow()
    if not blocked:
        client.unreachable_since = None
        await record_audit(session, ActorKind.client, "client.unblocked_bot", "client", client.id)
        return
    client.unreachable_since = now
    await record_audit(session, ActorKind.client, "client.blocked_bot", "client", client.id)
    await tell_coordinator(session, client, messaging, "blocked_note")
