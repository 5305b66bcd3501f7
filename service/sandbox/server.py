"""A local HTTP server speaking the subset of the Telegram Bot API the service uses, plus a control
API (`/control/...`) with which tests and the dev chat page play the users.

The bot talks to it with aiogram's real HTTP session::

    server = SandboxServer()
    await server.start()
    bot = Bot(server.bot_token,
              session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))

Bot API requests are `{base_url}/bot{token}/{method}` with parameters in the query string, a JSON
body, a form-urlencoded body or a multipart body (nested objects as JSON strings, as aiogram sends
them). Method names are case-insensitive. The access log is off: its paths carry the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from service.sandbox.errors import BotApiError, ControlError, bad_request, conflict
from service.sandbox.flood import RateLimits
from service.sandbox.objects import (
    JSON,
    BotIdentity,
    Webhook,
    photo_sizes,
    sticker_object,
    voice_object,
)
from service.sandbox.world import World

logger = logging.getLogger(__name__)

DEFAULT_BOT_TOKEN = "1234567890:SANDBOX-aftercare-bot-token"
DEFAULT_BOT_USERNAME = "aftercare_sandbox_bot"
DEFAULT_BOT_NAME = "Aftercare (sandbox)"
DEFAULT_RATE_LIMITS = RateLimits()

BOT_TOKEN = re.compile(r"\d+:[^\s/]+")
NUMERIC = re.compile(r"-?\d+")
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "media",
    }
)
INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "reply_to_message_id",
        "user_id",
        "max_connections",
        "message_thread_id",
    }
)
BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "only_if_banned",
        "for_channels",
    }
)
CONFLICT_OTHER_POLL = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)

Handler = Callable[["Params"], Awaitable[Any]]
"""A Bot API method: normalized parameters in, the `result` out (or a raised BotApiError)."""
ControlHandler = Callable[[web.Request], Awaitable[Any]]
"""A control endpoint: returns something JSON-serializable (or raises ControlError)."""


def normalize_params(raw: Mapping[str, Any]) -> JSON:
    """Give parameters their JSON types whatever the encoding: numbers and booleans from strings,
    nested objects from JSON strings. A numeric `chat_id` becomes an int."""
    params: JSON = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            params[key] = value
        elif key in JSON_PARAMS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                what = "reply keyboard markup" if key == "reply_markup" else key
                raise bad_request(f"can't parse {what} JSON object") from None
        elif key in INT_PARAMS or (key == "chat_id" and NUMERIC.fullmatch(value)):
            if not NUMERIC.fullmatch(value.strip()):
                raise bad_request(f"invalid {key}")
            params[key] = int(value)
        elif key in BOOL_PARAMS:
            params[key] = value.strip().lower() in ("true", "1")
        else:
            params[key] = value
    return params


class Params:
    """Typed access to a Bot API call's normalized parameters."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    def string(self, key: str) -> str | None:
        value = self.values.get(key)
        return None if value is None else str(value)

    def integer(self, key: str) -> int | None:
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"invalid {key}")
        return value

    def flag(self, key: str) -> bool:
        return bool(self.values.get(key, False))

    def mapping(self, key: str) -> JSON | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, dict):
            raise bad_request(f"can't parse {key} JSON object")
        return value

    def sequence(self, key: str) -> list[Any] | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, list):
            raise bad_request(f"can't parse {key} JSON object")
        return value

    def chat(self) -> int | str:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise bad_request("chat not found")
        return value

    def optional_chat(self) -> int | str | None:
        return None if self.values.get("chat_id") is None else self.chat()

    def reply_parameters(self) -> JSON | None:
        """reply_parameters, or the older reply_to_message_id spelled as reply_parameters."""
        reply = self.mapping("reply_parameters")
        if reply is None and (message_id := self.integer("reply_to_message_id")) is not None:
            reply = {
                "message_id": message_id,
                "allow_sending_without_reply": self.flag("allow_sending_without_reply"),
            }
        return reply


async def read_params(request: web.Request) -> JSON:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = f"attach://{value.name}"
                elif isinstance(value, bytes | bytearray):
                    raw[key] = value.decode(errors="replace")
                else:
                    raw[key] = value
    return normalize_params(raw)


def api_error(error: BotApiError) -> web.Response:
    return web.json_response(error.to_api(), status=error.status)


class SandboxServer:
    """The sandbox Bot API and control API on one aiohttp server.

    `port=0` picks a free port; `base_url` is known after `start()`. `rate_limits=None` turns
    flood control off. `privacy_mode=True` makes the bot see only commands, replies and mentions
    in groups. Failed webhook deliveries are retried every `webhook_retry_delay` seconds.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_name: str = DEFAULT_BOT_NAME,
        rate_limits: RateLimits | None = DEFAULT_RATE_LIMITS,
        privacy_mode: bool = False,
        webhook_retry_delay: float = 0.5,
        webhook_timeout: float = 10.0,
    ) -> None:
        if not BOT_TOKEN.fullmatch(bot_token):
            raise ValueError("bot_token must look like a Telegram token: '<digits>:<secret>'")
        self.host = host
        self.port = port
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.world = World(
            BotIdentity(
                bot_token, bot_username, bot_name, can_read_all_group_messages=not privacy_mode
            ),
            rate_limits=rate_limits,
            privacy_mode=privacy_mode,
        )
        self._base_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._closing = False
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in self._bot_api_methods().items()
        }

    @property
    def bot_token(self) -> str:
        return self.world.bot.token

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server; pass it to `TelegramAPIServer.from_base`."""
        if self._base_url is None:
            raise RuntimeError("the sandbox server is not started")
        return self._base_url

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the sandbox server is already started")
        self._closing = False
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot_api)
        self._add_control_routes(app)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._webhook_session = aiohttp.ClientSession()
        self._delivery = asyncio.get_running_loop().create_task(
            self._deliver_webhook_updates(), name="sandbox-webhook-delivery"
        )
        logger.info("Telegram Bot API sandbox listening on %s", self._base_url)

    async def stop(self) -> None:
        """Stop delivering webhooks, end long polls, and close the server."""
        self._closing = True
        self.world.changes.notify()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        self._base_url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- Bot API over HTTP ---------------------------------------------------------------

    async def _handle_bot_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.bot_token:
            return api_error(BotApiError(401, "Unauthorized"))
        try:
            params = await read_params(request)
        except BotApiError as error:
            return api_error(error)
        status, body = await self.call(request.match_info["method"], params)
        return web.json_response(body, status=status)

    async def call(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Run one Bot API method on normalized parameters; return HTTP status and body.
        Every call is recorded for the control API, including failed ones."""
        entry = self._methods.get(method.lower())
        if entry is None:
            self.world.record_call(method, params, 404, "Not Found")
            return 404, BotApiError(404, "Not Found").to_api()
        name, handler = entry
        try:
            fault = self.world.take_fault(name)
            if fault is not None:
                raise fault
            result = await handler(Params(params))
        except BotApiError as error:
            self.world.record_call(name, params, error.status, error.description)
            return error.status, error.to_api()
        self.world.record_call(name, params, 200, None)
        return 200, {"ok": True, "result": result}

    def _bot_api_methods(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "logOut": self._always_true,
            "close": self._always_true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._always_true,
            "setMyShortDescription": self._always_true,
            "setMyName": self._always_true,
            "setChatMenuButton": self._always_true,
            "getChatMenuButton": self._get_chat_menu_button,
        }

    async def _always_true(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> JSON:
        return self.world.bot.get_me()

    async def _get_chat_menu_button(self, params: Params) -> JSON:
        return {"type": "default"}

    async def _get_updates(self, params: Params) -> list[JSON]:
        """Long polling: answer at once if updates are pending, else when one arrives or after
        `timeout` seconds. A newer getUpdates (or setWebhook) terminates a waiting one with 409."""
        world = self.world
        if world.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.integer("timeout") or 0, 0)
        world.set_allowed_updates(params.sequence("allowed_updates"))
        if offset:
            world.confirm_updates(offset)
        generation = world.begin_poll()
        await world.changes.wait_for(
            lambda: (
                self._closing
                or world.poll_generation != generation
                or world.webhook is not None
                or bool(world.pending_updates())
            ),
            timeout,
        )
        if world.webhook is not None:
            raise conflict("terminated by setWebhook request")
        if world.poll_generation != generation:
            raise conflict(CONFLICT_OTHER_POLL)
        return world.pending_updates()[:limit]

    async def _set_webhook(self, params: Params) -> bool:
        self.world.set_webhook(
            params.string("url"),
            params.string("secret_token"),
            params.flag("drop_pending_updates"),
            params.sequence("allowed_updates"),
            params.integer("max_connections"),
        )
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        self.world.delete_webhook(params.flag("drop_pending_updates"))
        return True

    async def _get_webhook_info(self, params: Params) -> JSON:
        return self.world.webhook_info()

    async def _send_message(self, params: Params) -> JSON:
        return self.world.send_message(
            params.chat(),
            params.string("text"),
            parse_mode=params.string("parse_mode"),
            entities=params.sequence("entities"),
            reply_markup=params.values.get("reply_markup"),
            reply_parameters=params.reply_parameters(),
            link_preview_options=params.mapping("link_preview_options"),
            disable_notification=params.flag("disable_notification"),
        )

    async def _edit_message_text(self, params: Params) -> JSON:
        if params.string("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        return self.world.edit_message_text(
            params.optional_chat(),
            params.integer("message_id"),
            params.string("text"),
            parse_mode=params.string("parse_mode"),
            entities=params.sequence("entities"),
            reply_markup=params.values.get("reply_markup"),
            link_preview_options=params.mapping("link_preview_options"),
        )

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        if params.string("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        return self.world.edit_message_reply_markup(
            params.optional_chat(),
            params.integer("message_id"),
            params.values.get("reply_markup"),
        )

    async def _delete_message(self, params: Params) -> bool:
        return self.world.delete_message(params.chat(), params.integer("message_id"))

    async def _answer_callback_query(self, params: Params) -> bool:
        return self.world.answer_callback_query(
            params.string("callback_query_id"),
            text=params.string("text"),
            show_alert=params.flag("show_alert"),
            url=params.string("url"),
            cache_time=params.integer("cache_time"),
        )

    async def _send_chat_action(self, params: Params) -> bool:
        return self.world.send_chat_action(params.chat(), params.string("action"))

    async def _get_chat(self, params: Params) -> JSON:
        return self.world.get_chat(params.chat())

    async def _get_chat_member(self, params: Params) -> JSON:
        return self.world.get_chat_member(params.chat(), params.integer("user_id"))

    async def _set_my_commands(self, params: Params) -> bool:
        return self.world.set_my_commands(
            params.sequence("commands"), params.mapping("scope"), params.string("language_code")
        )

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return self.world.get_my_commands(params.mapping("scope"), params.string("language_code"))

    async def _delete_my_commands(self, params: Params) -> bool:
        return self.world.delete_my_commands(
            params.mapping("scope"), params.string("language_code")
        )

    # --- webhook delivery ----------------------------------------------------------------

    async def _deliver_webhook_updates(self) -> None:
        """Post pending updates one at a time, in order, to the webhook while one is set."""
        world = self.world
        while not self._closing:
            await world.changes.wait_for(
                lambda: (
                    self._closing or (world.webhook is not None and bool(world.pending_updates()))
                ),
                None,
            )
            webhook = world.webhook
            if self._closing or webhook is None:
                continue
            update = world.pending_updates()[0]
            try:
                delivered = await self._post_update(webhook, update)
            except Exception:
                logger.exception("Sandbox webhook delivery failed unexpectedly")
                delivered = False
            if delivered:
                world.webhook_delivered(webhook, update["update_id"])
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(self, webhook: Webhook, update: JSON) -> bool:
        assert self._webhook_session is not None
        headers = {}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        try:
            async with self._webhook_session.post(
                webhook.url,
                json=update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                if not 200 <= response.status < 300:
                    self.world.webhook_failed(
                        webhook,
                        f"Wrong response from the webhook: {response.status} {response.reason}",
                    )
                    return False
                reply = await self._read_webhook_reply(response)
        except TimeoutError:
            self.world.webhook_failed(webhook, "Read timeout expired")
            return False
        except aiohttp.ClientConnectorError:
            self.world.webhook_failed(webhook, "Connection refused")
            return False
        except aiohttp.ClientError as error:
            self.world.webhook_failed(webhook, f"Connection failed: {type(error).__name__}")
            return False
        if reply is not None and isinstance(reply.get("method"), str):
            method = reply.pop("method")
            # Like Telegram: the call is recorded, its failure is not reported to anyone.
            with contextlib.suppress(BotApiError):
                await self.call(method, normalize_params(reply))
        return True

    @staticmethod
    async def _read_webhook_reply(response: aiohttp.ClientResponse) -> JSON | None:
        """A method call answered in the webhook response body (JSON or multipart, as aiogram's
        webhook handler sends it), executed like Telegram does."""
        if response.content_type == "application/json":
            with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                body = await response.json()
                return body if isinstance(body, dict) else None
            return None
        if response.content_type != "multipart/form-data":
            return None
        fields: JSON = {}
        reader = aiohttp.MultipartReader.from_response(response)
        while (part := await reader.next()) is not None:
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                fields[part.name] = await part.text()
        return fields

    # --- control API ---------------------------------------------------------------------

    def _add_control_routes(self, app: web.Application) -> None:
        routes: list[tuple[str, str, ControlHandler]] = [
            ("POST", "/control/reset", self._control_reset),
            ("GET", "/control/users", self._control_users),
            ("POST", "/control/users", self._control_ensure_user),
            ("POST", "/control/users/{user_id}/block", self._control_block),
            ("POST", "/control/users/{user_id}/unblock", self._control_unblock),
            ("GET", "/control/chats", self._control_chats),
            ("POST", "/control/groups", self._control_create_group),
            ("GET", "/control/chats/{chat_id}/messages", self._control_messages),
            ("POST", "/control/messages/text", self._control_send_text),
            ("POST", "/control/messages/sticker", self._control_send_sticker),
            ("POST", "/control/messages/voice", self._control_send_voice),
            ("POST", "/control/messages/photo", self._control_send_photo),
            ("POST", "/control/messages/edit", self._control_edit_text),
            ("POST", "/control/callbacks", self._control_press_button),
            ("GET", "/control/callback-answers", self._control_callback_answers),
            ("GET", "/control/calls", self._control_calls),
            ("GET", "/control/updates", self._control_updates),
            ("GET", "/control/webhook", self._control_webhook),
            ("GET", "/control/commands", self._control_commands),
            ("POST", "/control/faults", self._control_add_fault),
            ("DELETE", "/control/faults", self._control_clear_faults),
            ("POST", "/control/rate-limits", self._control_rate_limits),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._control_endpoint(handler))

    @staticmethod
    def _control_endpoint(
        handler: ControlHandler,
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            try:
                return web.json_response(await handler(request))
            except ControlError as error:
                return web.json_response({"error": error.message}, status=error.status)
            except BotApiError as error:
                return web.json_response({"error": error.description}, status=error.status)

        return endpoint

    @staticmethod
    async def _body(request: web.Request) -> JSON:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise ControlError(400, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise ControlError(400, "the body must be a JSON object")
        return body

    async def _control_reset(self, request: web.Request) -> JSON:
        self.world.reset()
        return {"ok": True}

    async def _control_users(self, request: web.Request) -> list[JSON]:
        return [self.world.user_view(user) for user in self.world.users.values()]

    async def _control_ensure_user(self, request: web.Request) -> JSON:
        body = await self._body(request)
        user = self.world.ensure_user(
            _required_int(body, "id"),
            first_name=_optional_str(body, "first_name"),
            last_name=_optional_str(body, "last_name"),
            username=_optional_str(body, "username"),
            language_code=_optional_str(body, "language_code"),
            has_started=bool(body.get("has_started", True)),
        )
        return self.world.user_view(user)

    async def _control_block(self, request: web.Request) -> JSON:
        user_id = _path_int(request, "user_id")
        return {"update": self.world.set_blocked(user_id, blocked=True)}

    async def _control_unblock(self, request: web.Request) -> JSON:
        user_id = _path_int(request, "user_id")
        return {"update": self.world.set_blocked(user_id, blocked=False)}

    async def _control_chats(self, request: web.Request) -> list[JSON]:
        return [self.world.chat_view(chat) for chat in self.world.chats.values()]

    async def _control_create_group(self, request: web.Request) -> JSON:
        body = await self._body(request)
        member_ids = body.get("member_ids", [])
        if not isinstance(member_ids, list) or not all(isinstance(m, int) for m in member_ids):
            raise ControlError(400, "member_ids must be a list of user ids")
        chat = self.world.create_group(
            _required_int(body, "id"),
            _optional_str(body, "title") or "Sandbox group",
            member_ids,
            chat_type=_optional_str(body, "type") or "group",
            added_by=_optional_int(body, "added_by"),
        )
        return self.world.chat_view(chat)

    async def _control_messages(self, request: web.Request) -> list[JSON]:
        """Messages of a chat (`sender=all|bot|users`). With `min_count`, wait up to `timeout`
        seconds until there are at least that many, then answer with whatever there is."""
        chat_id = _path_int(request, "chat_id")
        sender = request.query.get("sender", "all")
        min_count = int(_query_number(request, "min_count") or 0)
        timeout = _query_number(request, "timeout") or 0.0
        if min_count:
            await self.world.changes.wait_for(
                lambda: (
                    self._closing
                    or (
                        chat_id in self.world.chats
                        and len(self.world.messages_of(chat_id, sender)) >= min_count
                    )
                ),
                timeout,
            )
            if chat_id not in self.world.chats:
                return []
        return self.world.messages_of(chat_id, sender)

    async def _user_message(self, body: JSON, kind: str, media: JSON | None) -> JSON:
        return self.world.user_sends(
            _required_int(body, "user_id"),
            kind,
            chat_id=_optional_int(body, "chat_id"),
            text=_optional_str(body, "text"),
            caption=_optional_str(body, "caption"),
            media=media,
            reply_to_message_id=_optional_int(body, "reply_to_message_id"),
        )

    async def _control_send_text(self, request: web.Request) -> JSON:
        return await self._user_message(await self._body(request), "text", None)

    async def _control_send_sticker(self, request: web.Request) -> JSON:
        body = await self._body(request)
        emoji = _optional_str(body, "emoji") or "👍"
        return await self._user_message(body, "sticker", {"sticker": sticker_object(emoji)})

    async def _control_send_voice(self, request: web.Request) -> JSON:
        body = await self._body(request)
        duration = _optional_int(body, "duration") or 3
        return await self._user_message(body, "voice", {"voice": voice_object(duration)})

    async def _control_send_photo(self, request: web.Request) -> JSON:
        body = await self._body(request)
        return await self._user_message(body, "photo", {"photo": photo_sizes()})

    async def _control_edit_text(self, request: web.Request) -> JSON:
        body = await self._body(request)
        return self.world.user_edits(
            _required_int(body, "user_id"),
            _required_int(body, "message_id"),
            _optional_str(body, "text") or "",
            chat_id=_optional_int(body, "chat_id"),
        )

    async def _control_press_button(self, request: web.Request) -> JSON:
        body = await self._body(request)
        data = body.get("data")
        if not isinstance(data, str):
            raise ControlError(400, "data must be the button's callback data")
        return self.world.press_button(
            _required_int(body, "user_id"),
            _required_int(body, "message_id"),
            data,
            chat_id=_optional_int(body, "chat_id"),
        )

    async def _control_callback_answers(self, request: web.Request) -> list[JSON]:
        return list(self.world.callback_answers)

    async def _control_calls(self, request: web.Request) -> list[JSON]:
        return self.world.calls_of(request.query.get("method"))

    async def _control_updates(self, request: web.Request) -> list[JSON]:
        return list(self.world.pending_updates())

    async def _control_webhook(self, request: web.Request) -> JSON:
        return self.world.webhook_view()

    async def _control_commands(self, request: web.Request) -> list[JSON]:
        return self.world.commands_view()

    async def _control_add_fault(self, request: web.Request) -> JSON:
        body = await self._body(request)
        method = _optional_str(body, "method")
        if not method:
            raise ControlError(400, 'method is a Bot API method name or "*"')
        self.world.add_fault(
            method,
            _required_int(body, "status"),
            _optional_int(body, "count") or 1,
            _optional_int(body, "retry_after"),
            _optional_str(body, "description"),
        )
        return {"ok": True}

    async def _control_clear_faults(self, request: web.Request) -> JSON:
        self.world.faults.clear()
        return {"ok": True}

    async def _control_rate_limits(self, request: web.Request) -> JSON:
        """Replace the flood limits: `{"enabled": false}` or any RateLimits fields."""
        body = await self._body(request)
        flood = self.world.flood
        if body.get("enabled", True) is False:
            flood.limits = None
        else:
            fields = {key: value for key, value in body.items() if key != "enabled"}
            try:
                flood.limits = RateLimits(**fields)
            except TypeError as error:
                raise ControlError(400, str(error)) from None
        flood.reset()
        limits = flood.limits
        return {"enabled": limits is not None, **(vars(limits) if limits else {})}


def _required_int(body: JSON, key: str) -> int:
    value = _optional_int(body, key)
    if value is None:
        raise ControlError(400, f"{key} is required")
    return value


def _optional_int(body: JSON, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(400, f"{key} must be an integer")
    return value


def _optional_str(body: JSON, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ControlError(400, f"{key} must be a string")
    return value


def _path_int(request: web.Request, key: str) -> int:
    try:
        return int(request.match_info[key])
    except ValueError:
        raise ControlError(400, f"{key} must be an integer") from None


def _query_number(request: web.Request, key: str) -> float | None:
    value = request.query.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise ControlError(400, f"{key} must be a number") from None
