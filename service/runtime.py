"""Starting the roles: the database, Telegram (or its sandbox), the bot, worker and web loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import uvicorn
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bot.app import build_bot, build_dispatcher, poll
from service.config import Settings
from service.db import connected, resolve_database_url, session_factory
from service.errors import AftercareError
from service.migrate import is_at_head, upgrade_to_head
from service.outbox.sender import Sender
from service.sandbox.server import SandboxServer
from service.web.app import create_app

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "1000000001:aftercare-sandbox-token"
SANDBOX_USERNAME = "aftercare_sandbox_bot"

Role = Callable[["Services", asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Telegram:
    token: str
    api_base: str

    def bot(self) -> Bot:
        return build_bot(self.token, self.api_base)


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    telegram: Telegram


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


@contextlib.asynccontextmanager
async def database(settings: Settings, *, migrate: bool) -> AsyncIterator[AsyncEngine]:
    url = await resolve_database_url(settings)
    async with connected(url) as engine:
        if migrate:
            await upgrade_to_head(engine)
        elif not await is_at_head(engine):
            raise AftercareError(
                "The database schema is not at the latest migration: run `aftercare migrate`."
            )
        yield engine


@contextlib.asynccontextmanager
async def sandbox(settings: Settings) -> AsyncIterator[SandboxServer | None]:
    """The local Bot API sandbox, started when no real bot token is configured."""
    if settings.telegram_token is not None:
        yield None
        return
    async with SandboxServer(
        host="127.0.0.1",
        port=settings.sandbox_port,
        bot_token=SANDBOX_TOKEN,
        bot_username=SANDBOX_USERNAME,
    ) as server:
        yield server


async def bot_role(services: Services, stop: asyncio.Event) -> None:
    bot = services.telegram.bot()
    try:
        await poll(bot, build_dispatcher(session_factory(services.engine)), stop)
    finally:
        await bot.session.close()


async def worker_role(services: Services, stop: asyncio.Event) -> None:
    bot = services.telegram.bot()
    try:
        await Sender(bot, services.engine, session_factory(services.engine)).run(stop)
    finally:
        await bot.session.close()


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: the role's stop event governs shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def web_role(services: Services, stop: asyncio.Event) -> None:
    config = uvicorn.Config(
        create_app(services.engine),
        host=services.settings.web_host,
        port=services.settings.web_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = _Server(config)
    async with asyncio.TaskGroup() as group:
        group.create_task(server.serve())
        await stop.wait()
        server.should_exit = True


async def run_roles(services: Services, roles: list[Role], stop: asyncio.Event) -> None:
    """Run the roles side by side until ``stop`` is set or one of them fails."""
    async with asyncio.TaskGroup() as group:
        for role in roles:
            group.create_task(_stop_all_on_exit(role(services, stop), stop))


async def _stop_all_on_exit(work: Awaitable[None], stop: asyncio.Event) -> None:
    try:
        await work
    finally:
        stop.set()


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
