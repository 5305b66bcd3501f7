"""The Telegram sandbox, driven by aiogram's real Bot over HTTP and by the control client."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from service.sandbox import RateLimits, SandboxClient, SandboxControlError, SandboxServer
from service.sandbox.errors import BotApiError
from service.sandbox.flood import FloodControl
from service.sandbox.formatting import parse_html

USER = 4242


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(webhook_retry_delay=0.05) as server:
        yield server


def sandbox_bot(server: SandboxServer) -> Bot:
    """A real aiogram Bot whose HTTP session talks to the sandbox."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    return Bot(server.bot_token, session=session)


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    bot = sandbox_bot(sandbox)
    yield bot
    await bot.session.close()


@pytest.fixture
async def telegram(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.base_url) as client:
        await client.ensure_user(USER, "Dana", username="dana", language_code="en")
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=f"Option {d}", callback_data=d) for d in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_start_logs_the_url_and_stop_ends_long_polls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="service.sandbox")
    server = SandboxServer()
    await server.start()
    [record] = caplog.records
    assert record.getMessage().endswith(server.base_url)
    bot = Bot(
        server.bot_token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    )
    try:
        async with asyncio.TaskGroup() as tasks:
            poll = tasks.create_task(bot.get_updates(timeout=30))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            await server.stop()
        assert poll.result() == []
        assert time.monotonic() - started < 2
    finally:
        await bot.session.close()


async def test_get_me_describes_the_bot(bot: Bot, sandbox: SandboxServer) -> None:
    me = await bot.get_me()

    assert me.is_bot
    assert me.id == int(sandbox.bot_token.split(":")[0])
    assert me.username == "aftercare_sandbox_bot"
    assert me.can_join_groups is True


async def test_unknown_token_and_method_answer_like_telegram(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.base_url}/bot1:wrong/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{sandbox.base_url}/bot{sandbox.bot_token}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.get(f"{sandbox.base_url}/bot{sandbox.bot_token}/GETME") as response:
            assert response.status == 200
            assert (await response.json())["result"]["is_bot"] is True


async def test_json_and_urlencoded_bodies_are_accepted(
    sandbox: SandboxServer, telegram: SandboxClient
) -> None:
    url = f"{sandbox.base_url}/bot{sandbox.bot_token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": USER, "text": "json", "reply_markup": markup}):
            pass
        form = {"chat_id": str(USER), "text": "form", "disable_notification": "true"}
        async with http.post(url, data=form) as response:
            assert response.status == 200

    first, second = await telegram.sent_messages(USER)
    assert (first["text"], first["reply_markup"]) == ("json", markup)
    assert (second["text"], second["disable_notification"]) == ("form", True)


async def test_user_text_is_delivered_once_to_get_updates(
    bot: Bot, telegram: SandboxClient
) -> None:
    sent = await telegram.send_text(USER, "/start invite-123")

    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == sent["update_id"]
    assert update.message is not None
    assert update.message.text == "/start invite-123"
    assert update.message.chat.id == USER
    assert update.message.from_user is not None
    assert update.message.from_user.language_code == "en"
    [entity] = update.message.entities or []
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/start"))

    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []
    await telegram.send_text(USER, "hello")
    [later] = await bot.get_updates(offset=update.update_id, timeout=0)
    assert later.update_id > update.update_id


async def test_long_polling_returns_as_soon_as_a_message_arrives(
    bot: Bot, telegram: SandboxClient
) -> None:
    async with asyncio.TaskGroup() as tasks:
        poll = tasks.create_task(bot.get_updates(timeout=20))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await telegram.send_text(USER, "anyone there?")
    elapsed = time.monotonic() - started

    [update] = poll.result()
    assert update.message is not None
    assert update.message.text == "anyone there?"
    assert elapsed < 2


async def test_a_newer_get_updates_terminates_a_waiting_one(bot: Bot) -> None:
    async def first_poll() -> str:
        with pytest.raises(TelegramConflictError) as conflict:
            await bot.get_updates(timeout=20)
        return conflict.value.message

    async with asyncio.TaskGroup() as tasks:
        first = tasks.create_task(first_poll())
        await asyncio.sleep(0.1)
        assert await bot.get_updates(timeout=0) == []

    assert "terminated by other getUpdates request" in first.result()


async def test_pressing_an_inline_button_yields_a_callback_query(
    bot: Bot, telegram: SandboxClient
) -> None:
    sent = await bot.send_message(USER, "How are you today?", reply_markup=keyboard("good", "bad"))
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard("good", "bad").model_dump()

    await telegram.press_button(USER, sent.message_id, "good")
    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None
    assert query.data == "good"
    assert query.from_user.id == USER
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.text == "How are you today?"

    assert await bot.answer_callback_query(query.id, text="Thanks!")
    [answer] = await telegram.callback_answers()
    assert (answer["callback_query_id"], answer["text"], answer["data"]) == (
        query.id,
        "Thanks!",
        "good",
    )
    [call] = await telegram.calls("answerCallbackQuery")
    assert call["params"]["callback_query_id"] == query.id
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)


async def test_pressing_a_button_that_is_not_on_the_message_is_refused(
    bot: Bot, telegram: SandboxClient
) -> None:
    sent = await bot.send_message(USER, "Pick one", reply_markup=keyboard("a"))

    with pytest.raises(SandboxControlError) as refused:
        await telegram.press_button(USER, sent.message_id, "b")
    assert refused.value.status == 400


async def test_texts_over_4096_characters_are_rejected(bot: Bot, telegram: SandboxClient) -> None:
    await bot.send_message(USER, "x" * 4096)
    await bot.send_message(USER, f"<b>{'y' * 4096}</b>", parse_mode="HTML")

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "   ")
    assert len(await telegram.sent_messages(USER)) == 2


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, telegram: SandboxClient) -> None:
    await bot.send_message(USER, "ok", reply_markup=keyboard("é" * 32))

    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "too long", reply_markup=keyboard("é" * 32 + "x"))


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<blink>no</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("<b><i>crossed</b></i>", "Unmatched end tag"),
        ("I <3 you", 'Unsupported start tag "" at byte offset 2'),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_malformed_html_is_rejected(
    bot: Bot, telegram: SandboxClient, html: str, error: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as rejected:
        await bot.send_message(USER, html, parse_mode="HTML")
    assert error in rejected.value.message


async def test_html_becomes_plain_text_with_entities(bot: Bot, telegram: SandboxClient) -> None:
    html = '😀 <b>Bold</b> &amp; <a href="https://example.org">link</a>'
    sent = await bot.send_message(USER, html, parse_mode="HTML")

    assert sent.text == "😀 Bold & link"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 3, 4),
        ("text_link", 10, 4),
    ]
    [shown] = await telegram.sent_messages(USER)
    assert (shown["text"], shown["source_text"], shown["parse_mode"]) == (
        "😀 Bold & link",
        html,
        "HTML",
    )
    assert parse_html('<pre><code class="language-python">x = 1</code></pre>')[1] == [
        {"type": "pre", "language": "python", "offset": 0, "length": 5}
    ]


async def test_unknown_chats_are_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999_999, "hello?")


async def test_blocking_the_bot_forbids_sending(bot: Bot, telegram: SandboxClient) -> None:
    await telegram.block(USER)

    [update] = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.old_chat_member.status == "member"
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "Still there?")

    await telegram.send_text(USER, "/start")
    updates = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert [u.event_type for u in updates] == ["my_chat_member", "message"]
    await bot.send_message(USER, "Welcome back")


async def test_sending_faster_than_the_per_chat_limit_is_told_to_retry(
    bot: Bot, telegram: SandboxClient
) -> None:
    await telegram.ensure_user(USER + 1)
    for n in range(3):  # the default burst
        await bot.send_message(USER, f"message {n}")

    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(USER, "one too many")
    assert flood.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in flood.value.message
    await bot.send_message(USER + 1, "another chat is fine")
    await telegram.set_rate_limits(enabled=False)
    await bot.send_message(USER, "limits off")


def test_flood_control_windows() -> None:
    now = [0.0]
    flood = FloodControl(
        RateLimits(per_chat_per_second=None, overall_per_second=5, per_group_per_minute=3),
        clock=lambda: now[0],
    )
    for chat_id in range(5):
        flood.acquire(chat_id, is_group=False)
    with pytest.raises(BotApiError, match="retry after 1"):
        flood.acquire(99, is_group=False)
    now[0] = 1.0
    for _ in range(3):
        flood.acquire(-100, is_group=True)
    with pytest.raises(BotApiError, match="retry after 60"):
        flood.acquire(-100, is_group=True)
    now[0] = 61.0
    flood.acquire(-100, is_group=True)


async def test_webhook_receives_updates_with_the_secret(bot: Bot, telegram: SandboxClient) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        if not received:  # the first delivery fails and must be retried
            received.append((None, {}))
            return web.Response(status=500)
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        arrived.set()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner, url = await serve_webhook(app)
    try:
        assert await bot.set_webhook(url, secret_token="s3cret-token")

        sent = await telegram.send_text(USER, "via webhook")
        async with asyncio.timeout(5):
            await arrived.wait()

        secret, update = received[-1]
        assert secret == "s3cret-token"
        assert Update.model_validate(update).update_id == sent["update_id"]
        info = await bot.get_webhook_info()
        assert info.url == url
        assert info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates(timeout=0)

        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


async def serve_webhook(handler: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(handler, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/hook"


async def test_an_aiogram_webhook_can_answer_with_a_method(
    sandbox: SandboxServer, bot: Bot, telegram: SandboxClient
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token="hook-secret").register(app, path="/hook")
    runner, url = await serve_webhook(app)
    try:
        await bot.set_webhook(url, secret_token="hook-secret")
        await telegram.send_text(USER, "over the hook")
        [reply] = await telegram.wait_for_messages(USER, count=1, timeout=5)
    finally:
        await runner.cleanup()

    assert reply["text"] == "echo: over the hook"
    assert (await telegram.webhook())["delivered_count"] == 1


async def test_injected_faults_fail_the_next_calls(bot: Bot, telegram: SandboxClient) -> None:
    await telegram.fail_next("sendMessage", 500, count=2)

    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER, "hello")
    await bot.send_message(USER, "hello")

    await telegram.fail_next("*", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.get_me()
    assert limited.value.retry_after == 7
    statuses = [call["status"] for call in await telegram.calls("sendmessage")]
    assert statuses == [500, 500, 200]


async def test_edits_show_in_sent_messages(bot: Bot, telegram: SandboxClient) -> None:
    sent = await bot.send_message(USER, "Draft", reply_markup=keyboard("a"))

    edited = await bot.edit_message_text(
        "<i>Final</i>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    [shown] = await telegram.sent_messages(USER)
    assert (shown["message_id"], shown["text"], shown["edited"]) == (sent.message_id, "Final", True)
    assert shown["reply_markup"] is None  # like Telegram: no reply_markup drops the keyboard

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<i>Final</i>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
        )
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("b")
    )
    assert await bot.delete_message(USER, sent.message_id)
    [shown] = await telegram.sent_messages(USER)
    assert shown["reply_markup"] == keyboard("b").model_dump(exclude_none=True)
    assert shown["deleted"] is True


async def test_commands_are_stored_per_scope_and_language(
    bot: Bot, telegram: SandboxClient
) -> None:
    english = [BotCommand(command="checkin", description="Check in now")]
    spanish = [BotCommand(command="checkin", description="Registrarse ahora")]
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(english, scope=scope)
    await bot.set_my_commands(spanish, scope=scope, language_code="es")

    def described(commands: list[BotCommand]) -> list[tuple[str, str]]:
        return [(c.command, c.description) for c in commands]

    assert described(await bot.get_my_commands(scope=scope)) == described(english)
    assert described(await bot.get_my_commands(scope=scope, language_code="es")) == described(
        spanish
    )
    assert await bot.get_my_commands() == []
    assert len(await telegram.commands()) == 2
    await bot.delete_my_commands(scope=scope, language_code="es")
    assert await bot.get_my_commands(scope=scope, language_code="es") == []


async def test_user_media_and_edits_arrive_as_telegram_objects(
    bot: Bot, telegram: SandboxClient
) -> None:
    text = await telegram.send_text(USER, "typo")
    await telegram.edit_text(USER, text["message"]["message_id"], "fixed")
    await telegram.send_sticker(USER, "🙂")
    await telegram.send_voice(USER, duration=4)
    await telegram.send_photo(USER, caption="my walk")

    updates = await bot.get_updates(timeout=0)
    assert [u.event_type for u in updates] == ["message", "edited_message"] + ["message"] * 3
    assert updates[1].edited_message is not None
    assert updates[1].edited_message.text == "fixed"
    sticker, voice, photo = (u.message for u in updates[2:])
    assert sticker is not None and sticker.sticker is not None
    assert sticker.sticker.emoji == "🙂"
    assert voice is not None and voice.voice is not None
    assert voice.voice.duration == 4
    assert photo is not None and photo.photo is not None
    assert photo.caption == "my walk"
    assert photo.photo[-1].file_unique_id


async def test_group_chats_carry_member_messages(bot: Bot, telegram: SandboxClient) -> None:
    await telegram.create_group(-1001, "Care team", [USER, USER + 1])
    await telegram.send_text(USER + 1, "Morning all", chat_id=-1001)

    joined, said = await bot.get_updates(timeout=0)
    assert joined.my_chat_member is not None
    assert joined.my_chat_member.new_chat_member.status == "member"
    assert said.message is not None
    assert said.message.chat.type == "group"
    assert said.message.chat.title == "Care team"
    await bot.send_message(-1001, "Noted")
    assert [m["text"] for m in await telegram.sent_messages(-1001)] == ["Noted"]
    with pytest.raises(SandboxControlError):
        await telegram.send_text(USER + 2, "let me in", chat_id=-1001)


async def test_wait_for_messages_times_out(telegram: SandboxClient) -> None:
    with pytest.raises(TimeoutError):
        await telegram.wait_for_messages(USER, count=1, timeout=0.1)


async def test_reset_keeps_update_ids_increasing(bot: Bot, telegram: SandboxClient) -> None:
    first = await telegram.send_text(USER, "one")
    await telegram.reset()
    second = await telegram.send_text(USER, "two")

    assert second["update_id"] > first["update_id"]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [second["update_id"]]


async def test_dispatcher_polling_echoes_end_to_end(
    sandbox: SandboxServer, telegram: SandboxClient
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    bot = sandbox_bot(sandbox)
    try:
        await telegram.send_text(USER, "hello bot")
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(dispatcher.start_polling(bot, handle_signals=False))
            try:
                [reply] = await telegram.wait_for_messages(USER, count=1, timeout=5)
                await telegram.send_text(USER, "again")
                replies = await telegram.wait_for_messages(USER, count=2, timeout=5)
            finally:
                await dispatcher.stop_polling()
    finally:
        await bot.session.close()

    assert reply["text"] == "echo: hello bot"
    assert replies[-1]["text"] == "echo: again"
    assert [c["method"] for c in await telegram.calls("getMe")] == ["getMe"]
