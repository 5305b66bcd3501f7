"""Which Telegram the service talks to: the configured bot, or the local sandbox without a token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.config import Settings

if TYPE_CHECKING:
    from aiogram import Bot

SANDBOX_TOKEN = "1000000001:aftercare-sandbox-token"
SANDBOX_USERNAME = "aftercare_sandbox_bot"


@dataclass(frozen=True)
class Telegram:
    token: str
    api_base: str

    def bot(self) -> Bot:
        """A Bot client speaking HTTP to this API. The caller closes its session."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        api = TelegramAPIServer.from_base(self.api_base)
        return Bot(self.token, session=AiohttpSession(api=api))


def telegram_for(settings: Settings) -> Telegram:
    """The configured bot, or the local sandbox's when no token is set."""
    if settings.telegram_token is None:
        return Telegram(SANDBOX_TOKEN, f"http://127.0.0.1:{settings.sandbox_port}")
    return Telegram(settings.telegram_token.get_secret_value(), settings.telegram_api_base)


async def bot_username(settings: Settings) -> str:
    """For invite links: configured, the sandbox's, or asked of Telegram."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.removeprefix("@")
    if settings.telegram_token is None:
        return SANDBOX_USERNAME
    bot = telegram_for(settings).bot()
    try:
        me = await bot.get_me()
    finally:
        await bot.session.close()
    assert me.username is not None
    return me.username
