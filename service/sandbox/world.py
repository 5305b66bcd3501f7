"""The sandbox's in-memory Telegram: users, chats, messages, updates, and the rules the Bot API
enforces on them. Text rendering lives in `formatting.py`, keyboards in `keyboards.py`, flood
control in `flood.py`; `World` applies them.

Everything here is synchronous and single-threaded: the HTTP layer in `server.py` parses requests,
calls into `World`, and waits on `World.changes` when it needs to block (long polling, webhook
delivery, control waits). Nothing here logs, so message texts never reach the logs.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from service.sandbox.changes import Changes
from service.sandbox.errors import (
    BotApiError,
    ControlError,
    bad_request,
    forbidden,
    injected_error,
)
from service.sandbox.flood import FloodControl, RateLimits
from service.sandbox.formatting import command_entities, render_text
from service.sandbox.keyboards import callback_data_of, validate_reply_markup
from service.sandbox.objects import (
    JSON,
    BotIdentity,
    CallbackQuery,
    Chat,
    Fault,
    Message,
    User,
    Webhook,
)

MAX_RECORDED_CALLS = 10_000

UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
DEFAULT_ALLOWED_UPDATES = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
"""What Telegram sends when `allowed_updates` was never given (or given as an empty list)."""

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def now_timestamp() -> int:
    """Unix time in whole seconds, as Telegram puts it in `date` fields."""
    return int(datetime.now(UTC).timestamp())


def update_type(update: JSON) -> str:
    """The kind of an update: its one key besides `update_id`."""
    return next(key for key in update if key != "update_id")


def command_scope_key(scope: JSON | None) -> str:
    """A valid BotCommandScope (default if None) as canonical JSON, to key the command lists."""
    scope = scope or {"type": "default"}
    if scope.get("type") not in COMMAND_SCOPES:
        raise bad_request("BOT_COMMAND_SCOPE_INVALID")
    return json.dumps(scope, sort_keys=True)


class World:
    """All state of the sandbox. Bot API methods raise `BotApiError`; control operations raise
    `ControlError`. Update ids and callback query ids keep increasing across `reset()` so a
    running bot's getUpdates offset stays valid."""

    def __init__(
        self, bot: BotIdentity, rate_limits: RateLimits | None, privacy_mode: bool = False
    ) -> None:
        self.bot = bot
        self.privacy_mode = privacy_mode
        self.changes = Changes()
        self.flood = FloodControl(rate_limits)
        self.next_update_id = 1
        self.next_callback_query_id = 1
        self.poll_generation = 0
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.updates: list[JSON] = []
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.webhook: Webhook | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.callback_answers: list[JSON] = []
        self.calls: deque[JSON] = deque(maxlen=MAX_RECORDED_CALLS)
        self.faults: list[Fault] = []

    def reset(self) -> None:
        """Forget users, chats, updates, webhook, commands, calls and faults."""
        self.users.clear()
        self.chats.clear()
        self.updates.clear()
        self.allowed_updates = DEFAULT_ALLOWED_UPDATES
        self.webhook = None
        self.commands.clear()
        self.callback_queries.clear()
        self.callback_answers.clear()
        self.calls.clear()
        self.faults.clear()
        self.flood.reset()
        self.changes.notify()

    # --- lookups -------------------------------------------------------------------------

    def chat(self, chat_ref: int | str) -> Chat:
        """The chat a Bot API `chat_id` refers to."""
        chat = self.chats.get(chat_ref) if isinstance(chat_ref, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def chat_api(self, chat: Chat) -> JSON:
        if chat.is_group:
            return {"id": chat.id, "type": chat.type, "title": chat.title or ""}
        user = self.users[chat.id]
        payload: JSON = {"id": chat.id, "type": "private", "first_name": user.first_name}
        if user.last_name is not None:
            payload["last_name"] = user.last_name
        if user.username is not None:
            payload["username"] = user.username
        return payload

    def message_api(self, message: Message, *, with_reply: bool = True) -> JSON:
        """The Telegram `Message` object as the bot sees it."""
        chat = self.chats[message.chat_id]
        sender = self.bot.to_api() if message.from_bot else self.users[message.sender_id].to_api()
        payload: JSON = {
            "message_id": message.message_id,
            "from": sender,
            "chat": self.chat_api(chat),
            "date": message.date,
        }
        if message.edit_date is not None:
            payload["edit_date"] = message.edit_date
        replied = chat.messages.get(message.reply_to_message_id or 0)
        if with_reply and replied is not None and not replied.deleted:
            payload["reply_to_message"] = self.message_api(replied, with_reply=False)
        if message.text is not None:
            payload["text"] = message.text
            if message.entities:
                payload["entities"] = message.entities
        payload.update(message.media)
        if message.caption is not None:
            payload["caption"] = message.caption
        if message.link_preview_options is not None:
            payload["link_preview_options"] = message.link_preview_options
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            payload["reply_markup"] = message.reply_markup
        return payload

    def message_view(self, message: Message) -> JSON:
        """A message as the control API shows it, with edits applied."""
        return {
            "message_id": message.message_id,
            "chat_id": message.chat_id,
            "from_bot": message.from_bot,
            "sender_id": message.sender_id,
            "date": message.date,
            "kind": message.kind,
            "text": message.text,
            "source_text": message.source_text,
            "parse_mode": message.parse_mode,
            "entities": message.entities,
            "caption": message.caption,
            "media": message.media,
            "reply_markup": message.reply_markup,
            "reply_to_message_id": message.reply_to_message_id,
            "disable_notification": message.disable_notification,
            "edit_date": message.edit_date,
            "edited": message.edit_date is not None,
            "deleted": message.deleted,
        }

    def chat_view(self, chat: Chat) -> JSON:
        return {
            **self.chat_api(chat),
            "member_ids": list(chat.member_ids),
            "blocked_bot": chat.blocked_bot,
            "started": chat.started,
            "message_count": len(chat.messages),
        }

    def messages_of(self, chat_id: int, sender: str = "all") -> list[JSON]:
        """Messages of a chat in order; `sender` is "all", "bot" or "users"."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"no chat {chat_id}")
        wanted = {"all": (True, False), "bot": (True,), "users": (False,)}.get(sender)
        if wanted is None:
            raise ControlError(400, "sender is one of all, bot, users")
        return [
            self.message_view(message)
            for message in chat.messages.values()
            if message.from_bot in wanted
        ]

    # --- updates -------------------------------------------------------------------------

    def push_update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.changes.notify()
        return update

    def pending_updates(self) -> list[JSON]:
        """Unconfirmed updates the bot asked for; updates of other types are dropped for good."""
        self.updates = [u for u in self.updates if update_type(u) in self.allowed_updates]
        return self.updates

    def set_allowed_updates(self, allowed: Iterable[Any] | None) -> None:
        if allowed is None:
            return
        wanted = frozenset(str(kind) for kind in allowed)
        self.allowed_updates = wanted or DEFAULT_ALLOWED_UPDATES

    def confirm_updates(self, offset: int) -> None:
        """getUpdates' offset: positive forgets ids below it, negative keeps the last -offset."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def begin_poll(self) -> int:
        """Start a getUpdates request; any request still waiting is terminated (409)."""
        self.poll_generation += 1
        self.changes.notify()
        return self.poll_generation

    # --- webhook -------------------------------------------------------------------------

    def set_webhook(
        self,
        url: str | None,
        secret_token: str | None,
        drop_pending_updates: bool,
        allowed_updates: list[Any] | None,
        max_connections: int | None,
    ) -> None:
        if not url:
            self.delete_webhook(drop_pending_updates)
            return
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if secret_token is not None and not SECRET_TOKEN.fullmatch(secret_token):
            raise bad_request("secret token contains unallowed characters")
        if drop_pending_updates:
            self.updates.clear()
        self.set_allowed_updates(allowed_updates)
        self.webhook = Webhook(url, secret_token, max_connections or 40)
        self.changes.notify()

    def delete_webhook(self, drop_pending_updates: bool) -> None:
        if drop_pending_updates:
            self.updates.clear()
        self.webhook = None
        self.changes.notify()

    def webhook_info(self) -> JSON:
        info: JSON = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates()),
        }
        webhook = self.webhook
        if webhook is None:
            return info
        info |= {
            "url": webhook.url,
            "max_connections": webhook.max_connections,
            "ip_address": "127.0.0.1",
            "allowed_updates": sorted(self.allowed_updates),
        }
        if webhook.last_error_date is not None:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
        return info

    def webhook_view(self) -> JSON:
        webhook = self.webhook
        return {
            **self.webhook_info(),
            "secret_token": webhook.secret_token if webhook else None,
            "delivered_count": webhook.delivered_count if webhook else 0,
        }

    def webhook_delivered(self, webhook: Webhook, update_id: int) -> None:
        webhook.delivered_count += 1
        self.updates = [u for u in self.updates if u["update_id"] != update_id]
        self.changes.notify()

    def webhook_failed(self, webhook: Webhook, message: str) -> None:
        webhook.last_error_date = now_timestamp()
        webhook.last_error_message = message

    # --- bot API: messages ---------------------------------------------------------------

    def _sendable_chat(self, chat_ref: int | str) -> Chat:
        chat = self.chat(chat_ref)
        if chat.blocked_bot:
            raise forbidden("bot was blocked by the user")
        if not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    def _reply_target(self, chat: Chat, reply_parameters: JSON | None) -> int | None:
        if not reply_parameters or reply_parameters.get("message_id") is None:
            return None
        message_id = _as_int(reply_parameters["message_id"], "reply_parameters")
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if reply_parameters.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return message_id

    def send_message(
        self,
        chat_ref: int | str,
        text: str | None,
        *,
        parse_mode: str | None = None,
        entities: list[Any] | None = None,
        reply_markup: Any = None,
        reply_parameters: JSON | None = None,
        link_preview_options: JSON | None = None,
        disable_notification: bool = False,
    ) -> JSON:
        chat = self._sendable_chat(chat_ref)
        plain, parsed = render_text(text, parse_mode, entities)
        markup = validate_reply_markup(reply_markup)
        reply_to = self._reply_target(chat, reply_parameters)
        self.flood.acquire(chat.id, chat.is_group)
        message = Message(
            message_id=chat.new_message_id(),
            chat_id=chat.id,
            sender_id=self.bot.id,
            from_bot=True,
            date=now_timestamp(),
            kind="text",
            text=plain,
            entities=parsed,
            source_text=text,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            link_preview_options=link_preview_options,
            disable_notification=disable_notification,
        )
        chat.messages[message.message_id] = message
        self.changes.notify()
        return self.message_api(message)

    def _editable_message(self, chat_ref: int | str | None, message_id: int | None) -> Message:
        if chat_ref is None or message_id is None:
            raise bad_request("message identifier is not specified")
        chat = self.chat(chat_ref)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def edit_message_text(
        self,
        chat_ref: int | str | None,
        message_id: int | None,
        text: str | None,
        *,
        parse_mode: str | None = None,
        entities: list[Any] | None = None,
        reply_markup: Any = None,
        link_preview_options: JSON | None = None,
    ) -> JSON:
        """Edit a bot message's text. Like Telegram, omitting reply_markup removes an inline
        keyboard."""
        message = self._editable_message(chat_ref, message_id)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain, parsed = render_text(text, parse_mode, entities)
        markup = validate_reply_markup(reply_markup)
        if (
            markup is None
            and message.reply_markup
            and "inline_keyboard" not in message.reply_markup
        ):
            markup = message.reply_markup
        if (plain, parsed, markup) == (message.text, message.entities, message.reply_markup):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.text, message.entities, message.reply_markup = plain, parsed, markup
        message.source_text, message.parse_mode = text, parse_mode
        if link_preview_options is not None:
            message.link_preview_options = link_preview_options
        message.edit_date = now_timestamp()
        self.changes.notify()
        return self.message_api(message)

    def edit_message_reply_markup(
        self, chat_ref: int | str | None, message_id: int | None, reply_markup: Any
    ) -> JSON:
        message = self._editable_message(chat_ref, message_id)
        markup = validate_reply_markup(reply_markup)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if markup == message.reply_markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.reply_markup = markup
        message.edit_date = now_timestamp()
        self.changes.notify()
        return self.message_api(message)

    def delete_message(self, chat_ref: int | str, message_id: int | None) -> bool:
        chat = self.chat(chat_ref)
        message = chat.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self.changes.notify()
        return True

    def send_chat_action(self, chat_ref: int | str, action: str | None) -> bool:
        self._sendable_chat(chat_ref)
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def answer_callback_query(
        self,
        query_id: str | None,
        *,
        text: str | None = None,
        show_alert: bool = False,
        url: str | None = None,
        cache_time: int | None = None,
    ) -> bool:
        query = self.callback_queries.get(query_id or "")
        if query is None or query.answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers.append(
            {
                "callback_query_id": query.id,
                "user_id": query.user_id,
                "chat_id": query.chat_id,
                "message_id": query.message_id,
                "data": query.data,
                "text": text,
                "show_alert": show_alert,
                "url": url,
                "cache_time": cache_time,
            }
        )
        self.changes.notify()
        return True

    # --- bot API: chats and commands -----------------------------------------------------

    def get_chat(self, chat_ref: int | str) -> JSON:
        chat = self.chat(chat_ref)
        return {
            **self.chat_api(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def get_chat_member(self, chat_ref: int | str, user_id: int | None) -> JSON:
        chat = self.chat(chat_ref)
        if user_id == self.bot.id:
            status = "kicked" if chat.blocked_bot else "member"
            return self._bot_membership(status)
        user = self.users.get(user_id or 0)
        if user is None:
            raise bad_request("user not found")
        status = "member" if user.id in chat.member_ids else "left"
        return {"status": status, "user": user.to_api()}

    def set_my_commands(
        self, commands: list[Any] | None, scope: JSON | None, language_code: str | None
    ) -> bool:
        if commands is None:
            raise bad_request('parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_NAME.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (command_scope_key(scope), language_code or "")
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        self.changes.notify()
        return True

    def get_my_commands(self, scope: JSON | None, language_code: str | None) -> list[JSON]:
        return list(self.commands.get((command_scope_key(scope), language_code or ""), []))

    def delete_my_commands(self, scope: JSON | None, language_code: str | None) -> bool:
        self.commands.pop((command_scope_key(scope), language_code or ""), None)
        self.changes.notify()
        return True

    def commands_view(self) -> list[JSON]:
        return [
            {"scope": json.loads(scope), "language_code": language, "commands": commands}
            for (scope, language), commands in self.commands.items()
        ]

    # --- calls and faults ----------------------------------------------------------------

    def record_call(self, method: str, params: JSON, status: int, description: str | None) -> None:
        self.calls.append(
            {
                "method": method,
                "params": params,
                "status": status,
                "ok": status == 200,
                "description": description,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        self.changes.notify()

    def calls_of(self, method: str | None) -> list[JSON]:
        if method is None:
            return list(self.calls)
        return [call for call in self.calls if call["method"].lower() == method.lower()]

    def add_fault(
        self,
        method: str,
        status: int,
        count: int,
        retry_after: int | None,
        description: str | None,
    ) -> None:
        """Make the next `count` calls of `method` ("*" for any) fail with `status`."""
        if not 400 <= status <= 599 or count < 1:
            raise ControlError(400, "status must be 400-599 and count at least 1")
        self.faults.append(Fault(method.lower(), status, count, retry_after, description))

    def take_fault(self, method: str) -> BotApiError | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.method in ("*", method.lower()):
                fault.remaining -= 1
                self.faults = [f for f in self.faults if f.remaining > 0]
                return injected_error(fault.status, fault.retry_after, fault.description)
        return None

    # --- control: people and what they do -------------------------------------------------

    def ensure_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        has_started: bool = True,
    ) -> User:
        """Create a user and their private chat (chat id = user id), or update given fields."""
        if user_id <= 0:
            raise ControlError(400, "user ids are positive")
        if user_id == self.bot.id:
            raise ControlError(400, "that id is the bot's")
        user = self.users.get(user_id)
        if user is None:
            user = User(user_id, first_name or f"User {user_id}", language_code="en")
            self.users[user_id] = user
            self.chats[user_id] = Chat(
                user_id, "private", member_ids=[user_id], started=has_started
            )
        if first_name is not None:
            user.first_name = first_name
        if last_name is not None:
            user.last_name = last_name
        if username is not None:
            user.username = username
        if language_code is not None:
            user.language_code = language_code
        self.changes.notify()
        return user

    def user_view(self, user: User) -> JSON:
        chat = self.chats[user.id]
        return {**user.to_api(), "blocked_bot": chat.blocked_bot, "started": chat.started}

    def create_group(
        self,
        chat_id: int,
        title: str,
        member_ids: list[int],
        chat_type: str = "group",
        added_by: int | None = None,
    ) -> Chat:
        """Create a group with the bot in it (a `my_chat_member` update tells the bot), or update
        an existing group's title and members."""
        if chat_id >= 0:
            raise ControlError(400, "group chat ids are negative")
        if chat_type not in ("group", "supergroup"):
            raise ControlError(400, "type is group or supergroup")
        for member_id in member_ids:
            if member_id not in self.users:
                self.ensure_user(member_id)
        chat = self.chats.get(chat_id)
        if chat is not None:
            chat.title, chat.member_ids = title, list(member_ids)
            self.changes.notify()
            return chat
        chat = Chat(chat_id, chat_type, title=title, member_ids=list(member_ids))
        self.chats[chat_id] = chat
        inviter_id = added_by if added_by is not None else (member_ids[0] if member_ids else None)
        if inviter_id is not None:
            inviter = self._user(inviter_id)
            self.push_update(
                "my_chat_member",
                {
                    "chat": self.chat_api(chat),
                    "from": inviter.to_api(),
                    "date": now_timestamp(),
                    "old_chat_member": self._bot_membership("left"),
                    "new_chat_member": self._bot_membership("member"),
                },
            )
        return chat

    def _user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise ControlError(404, f"no user {user_id}")
        return user

    def _bot_membership(self, status: str) -> JSON:
        member: JSON = {"status": status, "user": self.bot.to_api()}
        if status == "kicked":
            member["until_date"] = 0
        return member

    def _user_chat(self, user: User, chat_id: int | None) -> Chat:
        if chat_id is None or chat_id == user.id:
            return self.chats[user.id]
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"no chat {chat_id}")
        if user.id not in chat.member_ids:
            raise ControlError(403, f"user {user.id} is not a member of chat {chat_id}")
        return chat

    def _reaches_bot(self, chat: Chat, message: Message) -> bool:
        """Privacy mode: in groups the bot only sees commands, replies to it and mentions."""
        if not chat.is_group or not self.privacy_mode:
            return True
        text = message.text or message.caption or ""
        replied = chat.messages.get(message.reply_to_message_id or 0)
        return (
            text.startswith("/")
            or f"@{self.bot.username}".lower() in text.lower()
            or (replied is not None and replied.from_bot)
        )

    def user_sends(
        self,
        user_id: int,
        kind: str,
        *,
        chat_id: int | None = None,
        text: str | None = None,
        caption: str | None = None,
        media: JSON | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user writes to the bot. An unknown user is created; a user who had blocked the
        bot unblocks it first (as Telegram's Restart button does)."""
        user = self.users.get(user_id) or self.ensure_user(user_id)
        chat = self._user_chat(user, chat_id)
        if kind == "text" and not (text or "").strip():
            raise ControlError(400, "text is empty")
        if reply_to_message_id is not None and reply_to_message_id not in chat.messages:
            raise ControlError(404, f"no message {reply_to_message_id} in chat {chat.id}")
        if chat.blocked_bot:
            self.set_blocked(user_id, blocked=False)
        chat.started = True
        message = Message(
            message_id=chat.new_message_id(),
            chat_id=chat.id,
            sender_id=user.id,
            from_bot=False,
            date=now_timestamp(),
            kind=kind,
            text=text if kind == "text" else None,
            entities=command_entities(text) if kind == "text" and text else [],
            caption=caption,
            media=media or {},
            reply_to_message_id=reply_to_message_id,
        )
        chat.messages[message.message_id] = message
        if not self._reaches_bot(chat, message):
            self.changes.notify()
            return {"update_id": None, "message": self.message_api(message)}
        return self.push_update("message", self.message_api(message))

    def user_edits(
        self, user_id: int, message_id: int, text: str, chat_id: int | None = None
    ) -> JSON:
        user = self._user(user_id)
        chat = self._user_chat(user, chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or message.sender_id != user.id:
            raise ControlError(404, f"user {user_id} has no message {message_id} in chat {chat.id}")
        if message.kind != "text" or not text.strip():
            raise ControlError(400, "only non-empty text messages can be edited here")
        message.text, message.entities = text, command_entities(text)
        message.edit_date = now_timestamp()
        return self.push_update("edited_message", self.message_api(message))

    def press_button(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> JSON:
        """A user presses the inline button carrying `data` under a bot message."""
        user = self._user(user_id)
        chat = self._user_chat(user, chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or not message.from_bot:
            raise ControlError(404, f"no bot message {message_id} in chat {chat.id}")
        if data not in callback_data_of(message.reply_markup):
            raise ControlError(400, f"message {message_id} has no button with that callback data")
        query_id = str(4_000_000_000_000_000 + self.next_callback_query_id)
        self.next_callback_query_id += 1
        self.callback_queries[query_id] = CallbackQuery(
            query_id, user.id, chat.id, message_id, data
        )
        return self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": self.message_api(message),
                "chat_instance": str(-(abs(chat.id) * 7_919 + self.bot.id) % 10**19),
                "data": data,
            },
        )

    def set_blocked(self, user_id: int, *, blocked: bool) -> JSON | None:
        """Block or unblock the bot; the bot learns it from a `my_chat_member` update (None if
        nothing changed)."""
        user = self._user(user_id)
        chat = self.chats[user.id]
        if chat.blocked_bot == blocked:
            return None
        chat.blocked_bot = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        return self.push_update(
            "my_chat_member",
            {
                "chat": self.chat_api(chat),
                "from": user.to_api(),
                "date": now_timestamp(),
                "old_chat_member": self._bot_membership(old),
                "new_chat_member": self._bot_membership(new),
            },
        )


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"invalid {name}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name}") from None
