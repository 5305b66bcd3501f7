"""The sender: the one place that delivers outbox rows to Telegram, most urgent lane first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.clients.models import Client
from service.columns import utcnow
from service.lifecycle import nap
from service.outbox.models import OutboxMessage, OutboxStatus
from service.outbox.service import WAKE_CHANNEL

log = logging.getLogger(__name__)

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage,
    "editMessageText": EditMessageText,
    "editMessageReplyMarkup": EditMessageReplyMarkup,
    "answerCallbackQuery": AnswerCallbackQuery,
    "setMyCommands": SetMyCommands,
}
MAX_ATTEMPTS = 8
IDLE_POLL_SECONDS = 1.0


def backoff(attempts: int) -> timedelta:
    """Wait before retrying after a server or network error: 2, 4, 8 ... up to 300 seconds."""
    return timedelta(seconds=min(300, 2**attempts))


class Sender:
    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.sessions = sessions
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; sleep between bursts until woken by a new row."""
        async with self._wake_on_notify() as wake:
            while not stop.is_set():
                if await self.send_next():
                    continue
                wake.clear()
                await nap(stop, IDLE_POLL_SECONDS, wake)

    async def send_next(self) -> bool:
        """Send the most urgent due message. False when nothing is due."""
        async with self.sessions() as session, session.begin():
            row = await session.scalar(
                sa.select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.pending,  # type: ignore[arg-type]
                    OutboxMessage.not_before <= self.clock(),  # type: ignore[arg-type]
                )
                .order_by(OutboxMessage.lane, OutboxMessage.id)  # type: ignore[arg-type]
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return False
            await self._deliver(session, row)
        return True

    async def _deliver(self, session: AsyncSession, row: OutboxMessage) -> None:
        row.attempts += 1
        kind = METHODS[row.method]
        chat = {"chat_id": row.chat_id} if "chat_id" in kind.model_fields else {}
        method = kind.model_validate({**chat, **row.payload})
        try:
            result = await self.bot(method)
        except TelegramRetryAfter as exc:
            row.not_before = self.clock() + timedelta(seconds=exc.retry_after)
            row.attempts -= 1  # being asked to wait is not a failed attempt
        except TelegramForbiddenError as exc:
            self._give_up(row, exc)
            if row.client_id is not None:
                client = await session.get(Client, row.client_id)
                if client is not None and client.unreachable_since is None:
                    client.unreachable_since = self.clock()
        except TelegramBadRequest as exc:
            self._give_up(row, exc)
        except (TelegramServerError, TelegramNetworkError) as exc:
            if row.attempts >= MAX_ATTEMPTS:
                self._give_up(row, exc)
            else:
                row.not_before = self.clock() + backoff(row.attempts)
                row.last_error = _describe(exc)
        else:
            row.status = OutboxStatus.sent
            row.sent_at = self.clock()
            if isinstance(result, Message):
                row.telegram_message_id = result.message_id
        log.info(
            "outbox %s lane=%s method=%s status=%s attempts=%s",
            row.id,
            row.lane,
            row.method,
            row.status,
            row.attempts,
        )

    @staticmethod
    def _give_up(row: OutboxMessage, exc: Exception) -> None:
        row.status = OutboxStatus.failed
        row.last_error = _describe(exc)

    @asynccontextmanager
    async def _wake_on_notify(self) -> AsyncIterator[asyncio.Event]:
        """An event set by ``NOTIFY`` on the outbox channel; polling covers a lost connection."""
        wake = asyncio.Event()

        def on_notify(*_: object) -> None:
            wake.set()

        async with self.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.add_listener(WAKE_CHANNEL, on_notify)
            try:
                yield wake
            finally:
                with suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await raw.remove_listener(WAKE_CHANNEL, on_notify)


def _describe(exc: Exception) -> str:
    """Telegram's error, without the request (which would carry message text)."""
    return f"{type(exc).__name__}: {getattr(exc, 'message', '')}"[:500]
