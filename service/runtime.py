"""Starting the roles: the database, Telegram (or its sandbox), the bot, worker and web loops."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bot.app import build_dispatcher, poll, register_commands
from service.config import Settings
from service.content.service import Messaging
from service.db import session_factory
from service.errors import AftercareError
from service.outbox.sender import Sender
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, SANDBOX_USERNAME, Telegram
from service.web.app import create_app

Role = Callable[["Services", asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    telegram: Telegram


@contextlib.asynccontextmanager
async def sandbox(settings: Settings) -> AsyncIterator[SandboxServer | None]:
    """The local Bot API sandbox, started when no real bot token is configured."""
    if settings.telegram_token is not None:
        yield None
        return
    server = SandboxServer(
        host="127.0.0.1",
        port=settings.sandbox_port,
        bot_token=SANDBOX_TOKEN,
        bot_username=SANDBOX_USERNAME,
    )
    try:
        await server.start()
    except OSError as exc:
        raise AftercareError(
            f"Cannot start the sandbox Bot API on 127.0.0.1:{settings.sandbox_port} "
            f"({exc.strerror}): set AFTERCARE_SANDBOX_PORT to a free port."
        ) from None
    try:
        yield server
    finally:
        await server.stop()


async def bot_role(services: Services, stop: asyncio.Event) -> None:
    bot = services.telegram.bot()
    messaging = Messaging(console_url=services.settings.console_url)
    try:
        await register_commands(bot)
        await poll(bot, build_dispatcher(session_factory(services.engine), messaging), stop)
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
    settings = services.settings
    try:
        listener = socket.create_server((settings.web_host, settings.web_port))
    except OSError as exc:
        raise AftercareError(
            f"Cannot listen on {settings.web_host}:{settings.web_port} ({exc.strerror}): "
            "set AFTERCARE_WEB_HOST / AFTERCARE_WEB_PORT."
        ) from None
    sandbox_url = services.telegram.api_base if settings.uses_sandbox else None
    config = uvicorn.Config(
        create_app(services.engine, sandbox_url=sandbox_url),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = _Server(config)
    with listener:
        async with asyncio.TaskGroup() as group:
            group.create_task(server.serve(sockets=[listener]))
            await stop.wait()
            server.should_exit = True


ROLES: dict[str, Role] = {"bot": bot_role, "worker": worker_role, "web": web_role}


async def run_roles(services: Services, roles: Iterable[str], stop: asyncio.Event) -> None:
    """Run the named roles side by side until ``stop`` is set or one of them fails."""
    try:
        async with asyncio.TaskGroup() as group:
            for role in roles:
                group.create_task(_stop_all_on_exit(ROLES[role](services, stop), stop))
    except ExceptionGroup as failed:
        if len(failed.exceptions) == 1:
            raise failed.exceptions[0] from None  # one failure: let callers catch it as itself
        raise


async def _stop_all_on_exit(work: Awaitable[None], stop: asyncio.Event) -> None:
    try:
        await work
    finally:
        stop.set()


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
