"""Callback data of the bot's inline buttons (each packs into Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ConsentChoice(CallbackData, prefix="consent"):
    agree: bool


class PauseChoice(CallbackData, prefix="pause"):
    days: int
