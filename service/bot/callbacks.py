"""Callback data of the bot's inline buttons (each packs into Telegram's 64 bytes)."""

from __future__ import annotations

from typing import TypeAlias

from aiogram.filters.callback_data import CallbackData

# An inline keyboard as the Bot API takes it. Check-in buttons are built as plain data: the
# planner makes thousands in a tick, and an aiogram model costs ten times as much to build.
Button: TypeAlias = dict[str, str]
Keyboard: TypeAlias = dict[str, list[list[Button]]]


def button(label: str, data: CallbackData) -> Button:
    return {"text": label, "callback_data": data.pack()}


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
