"""Building the bot role: the Bot client, the Dispatcher and its routers, and receiving updates
by long polling or through the web role's webhook."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.bot.middlewares import UnitOfWork
from service.bot.routers import alerts, checkins, fallback, journey, onboarding, safety, start
from service.bot.texts import COMMANDS
from service.content.service import Messaging
from service.conversations.storage import PostgresStorage
from service.db import is_transient
from service.errors import AftercareError
from service.lifecycle import Stopped, nap, unless_stopped
from service.signals.classifier import Classifier

log = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 25
# One delivery at a time, like the polling loop: a person's messages are handled in order.
WEBHOOK_MAX_CONNECTIONS = 1
REFUSED_TOKEN = "Telegram refused the bot token (401 Unauthorized): check AFTERCARE_TELEGRAM_TOKEN."
RETRY_SECONDS = (1, 2, 5, 10, 30)


def build_dispatcher(
    sessions: async_sessionmaker[AsyncSession],
    messaging: Messaging | None = None,
    classifier: Classifier | None = None,
) -> Dispatcher:
    """The routers in order: the safety net first, the care team's alert buttons next,
    whatever else is sent last."""
    dispatcher = Dispatcher(storage=PostgresStorage(sessions), messaging=messaging or Messaging())
    dispatcher.update.outer_middleware(UnitOfWork(sessions, classifier))
    dispatcher.include_routers(
        safety.build_router(),
        alerts.build_router(),
        start.build_router(),
        journey.build_router(),
        onboarding.build_router(),
        checkins.build_router(),
        fallback.build_router(),
    )
    return dispatcher


async def register_commands(bot: Bot) -> None:
    """The command menu, in English by default and in Spanish for Spanish-speaking users."""
    for language, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(command=name, description=about) for name, about in commands],
            language_code=None if language == "en" else language,
        )


async def poll(bot: Bot, dispatcher: Dispatcher, stop: asyncio.Event) -> None:
    """Long-poll Telegram and handle updates one by one.

    An update is confirmed (the next ``getUpdates`` offset) only after its unit of work has
    committed; when the database is unreachable the same update is retried, so nothing a client
    writes is lost. aiogram's own polling confirms updates even when handling failed.
    """
    offset: int | None = None
    allowed = dispatcher.resolve_used_update_types()
    failures = 0
    while not stop.is_set():
        try:
            updates = await unless_stopped(
                bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT_SECONDS, allowed_updates=allowed
                ),
                stop,
            )
        except Stopped:
            return
        except TelegramUnauthorizedError:
            raise AftercareError(REFUSED_TOKEN) from None
        except TelegramConflictError:
            # Another poller on this token, or a webhook is set. Two pollers are safe (an update
            # is recorded once), so this one waits and takes over when the other stops.
            failures += 1
            log.warning("another process receives this bot's updates (409); standing by")
            await _pause(stop, failures)
            continue
        except TelegramRetryAfter as exc:
            await nap(stop, exc.retry_after)
            continue
        except (TelegramNetworkError, TelegramServerError) as exc:
            failures += 1
            log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
            await _pause(stop, failures)
            continue
        failures = 0
        for update in updates:
            while not stop.is_set():
                try:
                    await dispatcher.feed_update(bot, update)
                    break
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    failures += 1
                    log.warning(
                        "update %s not recorded (%s); retrying",
                        update.update_id,
                        type(exc).__name__,
                    )
                    await _pause(stop, failures)
            else:
                return
            failures = 0
            offset = update.update_id + 1


async def use_webhook(bot: Bot, dispatcher: Dispatcher, url: str, secret: str) -> None:
    """Have Telegram POST updates to the web role's webhook, keeping those still pending."""
    try:
        await bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
            drop_pending_updates=False,
            max_connections=WEBHOOK_MAX_CONNECTIONS,
        )
    except TelegramUnauthorizedError:
        raise AftercareError(REFUSED_TOKEN) from None
    except TelegramBadRequest as exc:
        raise AftercareError(
            f"Telegram refused the webhook ({exc.message}): check AFTERCARE_WEBHOOK_URL."
        ) from None


async def use_polling(bot: Bot) -> None:
    """Remove a webhook set before (keeping pending updates), so that ``getUpdates`` works."""
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    except TelegramUnauthorizedError:
        raise AftercareError(REFUSED_TOKEN) from None


async def process_update(bot: Bot, dispatcher: Dispatcher, update: Update) -> None:
    """Handle one update that came through the webhook, with the polling loop's guarantees.

    Returns once the update's unit of work has committed, or at once when the update was recorded
    before (a redelivery, skipped); only then may Telegram be told it arrived. A transient
    database error (``is_transient``) propagates with nothing committed: the caller answers with
    an error so that Telegram delivers the update again.
    """
    await dispatcher.feed_update(bot, update)


async def _pause(stop: asyncio.Event, failures: int) -> None:
    await nap(stop, RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])
