"""Callback data of the bot's inline buttons (each packs into Telegram's 64 bytes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from aiogram.filters.callback_data import CallbackData

# An inline keyboard as the Bot API takes it. Check-in buttons are built as plain data: the
# planner makes thousands in a tick, and an aiogram model costs ten times as much to build.
Button: TypeAlias = dict[str, str]
Keyboard: TypeAlias = dict[str, list[list[Button]]]


def buttons(data: CallbackData, choices: Iterable[tuple[str, int | None]]) -> list[Button]:
    """A button per (label, value) of ``data``'s last field, an int or None (as ``pack`` writes
    them). ``data`` is packed once rather than once a button: a planner tick builds a keyboard
    for every check-in it sends."""
    separator = data.__separator__
    head = data.pack().rpartition(separator)[0]
    return [
        {"text": label, "callback_data": f"{head}{separator}{'' if value is None else value}"}
        for label, value in choices
    ]


def keyboard(rows: list[list[Button]]) -> Keyboard:
    return {"inline_keyboard": rows}


class ConsentChoice(CallbackData, prefix="consent"):
    agree: bool


class PauseChoice(CallbackData, prefix="pause"):
    days: int


class Onboarding(CallbackData, prefix="ob"):
    step: str  # value, values_done, values_other, skip, tz, window, lang
    choice: str = ""


class DeleteChoice(CallbackData, prefix="delete"):
    erase: bool


class ScaleAnswer(CallbackData, prefix="scale"):
    checkin_id: int
    scale: str
    value: int


class WeeklyAnswer(CallbackData, prefix="weekly"):
    checkin_id: int
    index: int  # which of the weekly questions
    value: int | None = None  # 0-4; None when skipped


class AlertAction(CallbackData, prefix="alert"):
    alert_id: int
    action: str  # "ack", "resolve" or "callback" (service.alerts.service.AlertChoice)
