"""Callback data of the bot's inline buttons (each packs into Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


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
