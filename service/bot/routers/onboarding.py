"""Onboarding after consent, and /settings to change it: values, own words, timezone, check-in
window, language. Every step can be skipped; the conversation state lives in PostgreSQL, so a
restart in the middle of it loses nothing."""

from __future__ import annotations

from datetime import time

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.bot.callbacks import ConsentChoice, Onboarding
from service.bot.consent import CONSENT_VERSION, NOT_ENROLLED_YET, enrolled
from service.bot.replies import answer_button, reply
from service.bot.texts import LANGUAGES, VALUE_BUTTONS, text
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord
from service.clients.timezones import COMMON, find_timezone
from service.columns import utcnow
from service.content.library import VALUES
from service.outbox.service import enqueue_call

WINDOWS = {
    "morning": (time(9), time(12)),
    "afternoon": (time(13), time(17)),
    "evening": (time(18), time(21)),
}
OWN_WORDS_LIMIT = 500


class Steps(StatesGroup):
    values = State()
    own_value = State()
    reason = State()
    timezone = State()
    window = State()
    language = State()


def build_router() -> Router:
    router = Router(name="onboarding")
    router.message.filter(F.chat.type == "private")
    router.message.register(settings, Command("settings"))
    router.callback_query.register(consent_choice, ConsentChoice.filter())
    router.callback_query.register(choose, Onboarding.filter())
    router.message.register(own_value, StateFilter(Steps.own_value), F.text)
    router.message.register(reason, StateFilter(Steps.reason), F.text)
    router.message.register(typed_timezone, StateFilter(Steps.timezone), F.text)
    router.message.register(typed_hour, StateFilter(Steps.window), F.text)
    return router


def _button(label: str, step: str, choice: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=label, callback_data=Onboarding(step=step, choice=choice).pack()
    )


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def values_keyboard(language: str, chosen: list[str]) -> InlineKeyboardMarkup:
    labels = VALUE_BUTTONS[language]
    buttons = [
        _button(("✓ " if value in chosen else "") + labels[value], "value", value)
        for value in VALUES
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            *_rows(buttons, 2),
            [
                _button(text(language, "values_other"), "values_other"),
                _button(text(language, "values_done"), "values_done"),
            ],
        ]
    )


async def begin(session: AsyncSession, client: Client, state: FSMContext) -> None:
    """The first step; called after consent and by /settings."""
    assert client.telegram_chat_id is not None
    await state.set_state(Steps.values)
    await state.set_data({"values": list(client.values)})
    await reply(
        session,
        client.telegram_chat_id,
        text(client.language, "values_ask"),
        to=client,
        keyboard=values_keyboard(client.language, list(client.values)),
    )


async def consent_choice(
    query: CallbackQuery,
    callback_data: ConsentChoice,
    session: AsyncSession,
    client: Client | None,
    state: FSMContext,
) -> None:
    await answer_button(session, query)
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
    key = "consent_given" if callback_data.agree else "consent_declined"
    await reply(
        session,
        client.telegram_chat_id,
        text(client.language, key, first_name=client.first_name),
        to=client,
    )
    if callback_data.agree and client.state in {*NOT_ENROLLED_YET, ClientState.opted_out}:
        client.state = ClientState.onboarding
        client.updated_at = utcnow()
        await begin(session, client, state)


async def settings(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if await enrolled(session, message, client):
        assert client is not None
        await begin(session, client, state)


async def choose(
    query: CallbackQuery,
    callback_data: Onboarding,
    session: AsyncSession,
    client: Client | None,
    state: FSMContext,
) -> None:
    await answer_button(session, query)
    if client is None or client.telegram_chat_id is None:
        return
    step, choice = callback_data.step, callback_data.choice
    if step == "value" and choice in VALUES:
        chosen = list((await state.get_data()).get("values", []))
        chosen = [v for v in chosen if v != choice] if choice in chosen else [*chosen, choice]
        await state.update_data(values=chosen)
        if query.message is not None:
            markup = values_keyboard(client.language, chosen)
            await enqueue_call(
                session,
                chat_id=client.telegram_chat_id,
                method="editMessageReplyMarkup",
                payload={
                    "message_id": query.message.message_id,
                    "reply_markup": markup.model_dump(exclude_none=True),
                },
            )
    elif step in {"values_done", "values_other"}:
        client.values = list((await state.get_data()).get("values", []))
        if step == "values_other":
            await _ask(session, client, state, Steps.own_value, "values_own_ask")
        else:
            await _ask(session, client, state, Steps.reason, "reason_ask")
    elif step == "skip":
        await _next(session, client, state)
    elif step == "tz" and choice.isdigit() and int(choice) < len(COMMON):
        client.timezone = COMMON[int(choice)][2]
        await _ask(session, client, state, Steps.window, "window_ask")
    elif step == "window" and choice in WINDOWS:
        client.checkin_window_start, client.checkin_window_end = WINDOWS[choice]
        await _ask(session, client, state, Steps.language, "language_ask")
    elif step == "lang" and choice in LANGUAGES:
        client.language = choice
        await _finish(session, client, state)


async def _next(session: AsyncSession, client: Client, state: FSMContext) -> None:
    """Skip the current step."""
    following = {
        Steps.values.state: (Steps.reason, "reason_ask"),
        Steps.own_value.state: (Steps.reason, "reason_ask"),
        Steps.reason.state: (Steps.timezone, "timezone_ask"),
        Steps.timezone.state: (Steps.window, "window_ask"),
        Steps.window.state: (Steps.language, "language_ask"),
    }.get(await state.get_state() or "")
    if following is None:
        await _finish(session, client, state)
    else:
        await _ask(session, client, state, *following)


async def _ask(
    session: AsyncSession, client: Client, state: FSMContext, step: State, key: str
) -> None:
    assert client.telegram_chat_id is not None
    await state.set_state(step)
    language = client.language
    skip = _button(text(language, "skip"), "skip")
    if step == Steps.timezone:
        labels = [(en if language == "en" else es) for en, es, _ in COMMON]
        rows = _rows([_button(label, "tz", str(i)) for i, label in enumerate(labels)], 2)
    elif step == Steps.window:
        rows = [[_button(text(language, f"window_{name}"), "window", name) for name in WINDOWS]]
    elif step == Steps.language:
        rows = [[_button("English", "lang", "en"), _button("Español", "lang", "es")]]
    else:
        rows = []
    keyboard = InlineKeyboardMarkup(inline_keyboard=[*rows, [skip]])
    await reply(session, client.telegram_chat_id, text(language, key), to=client, keyboard=keyboard)


async def own_value(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if client is None:
        return
    client.reasons = {**client.reasons, "own_value": (message.text or "")[:OWN_WORDS_LIMIT]}
    await _ask(session, client, state, Steps.reason, "reason_ask")


async def reason(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if client is None:
        return
    client.reasons = {**client.reasons, "own": (message.text or "")[:OWN_WORDS_LIMIT]}
    await _ask(session, client, state, Steps.timezone, "timezone_ask")


async def typed_timezone(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if client is None or client.telegram_chat_id is None:
        return
    zone = find_timezone(message.text or "")
    if zone is None:
        await reply(
            session, client.telegram_chat_id, text(client.language, "timezone_unknown"), to=client
        )
        return
    client.timezone = zone
    await _ask(session, client, state, Steps.window, "window_ask")


async def typed_hour(
    message: Message, session: AsyncSession, client: Client | None, state: FSMContext
) -> None:
    if client is None:
        return
    typed = (message.text or "").strip().removesuffix(":00").strip()
    if not typed.isdigit() or not 0 <= int(typed) <= 23:
        await _ask(session, client, state, Steps.window, "window_ask")
        return
    hour = int(typed)
    client.checkin_window_start = time(hour)
    client.checkin_window_end = time(hour, 59)
    await _ask(session, client, state, Steps.language, "language_ask")


async def _finish(session: AsyncSession, client: Client, state: FSMContext) -> None:
    assert client.telegram_chat_id is not None
    await state.clear()
    if client.state == ClientState.onboarding:
        client.state = ClientState.active
    client.next_checkin_at = None  # planned afresh by the new timezone and window
    client.updated_at = utcnow()
    window = next(
        (name for name, (start, _) in WINDOWS.items() if start == client.checkin_window_start),
        None,
    )
    when = (
        text(client.language, f"when_{window}")
        if window
        else text(client.language, "when_hour", hour=str(client.checkin_window_start.hour))
    )
    zone = client.timezone.rsplit("/", 1)[-1].replace("_", " ")
    await reply(
        session,
        client.telegram_chat_id,
        text(client.language, "onboarded", first_name=client.first_name, when=when, timezone=zone),
        to=client,
    )
