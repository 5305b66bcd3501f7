"""The world's records (bot, users, chats, messages, ...) and the media objects users send."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
"""A Telegram object (or a request's parameters) as decoded JSON."""


@dataclass(frozen=True)
class BotIdentity:
    token: str
    username: str
    first_name: str
    can_read_all_group_messages: bool

    @property
    def id(self) -> int:
        return int(self.token.split(":", 1)[0])

    def to_api(self) -> JSON:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def get_me(self) -> JSON:
        return {
            **self.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_api(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                user[key] = value
        return user


@dataclass
class Message:
    message_id: int
    chat_id: int
    sender_id: int
    from_bot: bool
    date: int
    kind: str
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    source_text: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    media: JSON = field(default_factory=dict)
    reply_markup: JSON | None = None
    reply_to_message_id: int | None = None
    link_preview_options: JSON | None = None
    disable_notification: bool = False
    edit_date: int | None = None
    deleted: bool = False


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    member_ids: list[int] = field(default_factory=list)
    blocked_bot: bool = False
    started: bool = True
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered_count: int = 0


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False


@dataclass
class Fault:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    description: str | None


def _file_ids(prefix: str) -> JSON:
    """Fresh, Telegram-looking `file_id` and `file_unique_id`; the prefix marks the file type."""
    return {
        "file_id": f"{prefix}{secrets.token_urlsafe(30)}",
        "file_unique_id": f"AgAD{secrets.token_urlsafe(9)}",
    }


def sticker_object(emoji: str) -> JSON:
    return {
        **_file_ids("CAACAgIAAxkBAAI"),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "SandboxStickers",
        "file_size": 24_576,
    }


def voice_object(duration: int) -> JSON:
    return {
        **_file_ids("AwACAgIAAxkBAAI"),
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": 4_000 * max(duration, 1),
    }


def photo_sizes() -> list[JSON]:
    sizes = ((90, 67, 1_310), (320, 240, 18_940), (1280, 960, 154_330))
    return [
        {**_file_ids("AgACAgIAAxkBAAI"), "width": w, "height": h, "file_size": size}
        for w, h, size in sizes
    ]
