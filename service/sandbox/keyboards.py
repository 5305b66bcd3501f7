"""Reply markup: keyboards validated as Telegram does, inline buttons' callback data."""

from __future__ import annotations

from typing import Any

from service.sandbox.errors import bad_request
from service.sandbox.objects import JSON

MAX_CALLBACK_DATA_BYTES = 64


def validate_reply_markup(markup: Any) -> JSON | None:
    """Check a reply_markup the way Telegram does (inline buttons need an action, callback data
    is 1-64 bytes of UTF-8) and return it."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                _validate_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a string")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif set(button) <= {"text"}:
        raise bad_request("text buttons are unallowed in the inline keyboard")


def callback_data_of(markup: JSON | None) -> list[str]:
    """The callback data of every inline button of a reply_markup."""
    if not markup or not isinstance(markup.get("inline_keyboard"), list):
        return []
    return [
        button["callback_data"]
        for row in markup["inline_keyboard"]
        for button in row
        if isinstance(button, dict) and isinstance(button.get("callback_data"), str)
    ]
