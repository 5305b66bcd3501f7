"""Starting the roles: the database, Telegram (or its sandbox), the bot, worker and web loops."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

import uvicorn
from aiogram import Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.escalation import Escalator
from service.bot.app import (
    RETRY_SECONDS,
    build_dispatcher,
    poll,
    register_commands,
    use_polling,
    use_webhook,
)
from service.checkins.planner import Planner
from service.clients.retention import Redactor
from service.config import Settings
from service.console.accounts import AccessPolicy, Tidier
from service.content.service import Messaging
from service.db import session_factory
from service.errors import AftercareError
from service.lifecycle import Stopped, nap, unless_stopped
from service.metrics import serving
from service.outbox.pacing import SendLimits
from service.outbox.sender import Sender
from service.sandbox.server import SandboxServer
from service.scheduler import Ticker, ticks
from service.signals.classifier import classifier_for
from service.telegram import SANDBOX_TOKEN, SANDBOX_USERNAME, Telegram
from service.web.app import TelegramWebhook, create_app
from service.web.console import ConsoleConfig

log = logging.getLogger(__name__)

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


def messaging_for(settings: Settings) -> Messaging:
    """The process's message library cache, console address, alert routing and crisis lines."""
    return Messaging(
        console_url=settings.console_url,
        alerts=settings.alert_routing,
        crisis_lines=settings.crisis_resources,
    )


def _dispatcher(services: Services) -> Dispatcher:
    settings = services.settings
    return build_dispatcher(
        session_factory(services.engine), messaging_for(settings), classifier_for(settings.lexicons)
    )


async def bot_role(services: Services, stop: asyncio.Event) -> None:
    """Long polling; or, with a webhook URL, set the webhook (the web role receives updates)."""
    settings = services.settings
    bot = services.telegram.bot()
    dispatcher = _dispatcher(services)
    webhook = settings.webhook_url
    try:
        if webhook is not None:
            assert settings.webhook_secret is not None  # the settings require it with a URL
            secret = settings.webhook_secret.get_secret_value()
            ready = await _at_start(
                "setWebhook", lambda: use_webhook(bot, dispatcher, webhook, secret), stop
            )
        else:  # removes a webhook set before, so that switching back works
            ready = await _at_start("deleteWebhook", lambda: use_polling(bot), stop)
        if not ready or not await _at_start("setMyCommands", lambda: register_commands(bot), stop):
            return
        if webhook is not None:
            await stop.wait()  # the updates arrive at the web role
        else:
            await poll(bot, dispatcher, stop)
    finally:
        await bot.session.close()


async def _at_start(method: str, call: Callable[[], Awaitable[None]], stop: asyncio.Event) -> bool:
    """A start-up call to Telegram, retried while Telegram (or a sandbox still starting) cannot be
    reached, like the polling loop's calls. False when asked to stop first."""
    failures = 0
    while not stop.is_set():
        try:
            await unless_stopped(call(), stop)
            return True
        except Stopped:
            return False
        except TelegramRetryAfter as exc:
            await nap(stop, exc.retry_after)
        except (TelegramNetworkError, TelegramServerError) as exc:
            failures += 1
            log.warning("%s failed (%s); retrying", method, type(exc).__name__)
            await nap(stop, RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])
    return False


async def worker_role(services: Services, stop: asyncio.Event) -> None:
    """The ticks that plan touches, follow-ups and resumed pauses and escalate alerts, and the
    sender (active in one worker per bot token, standing by in the others)."""
    settings = services.settings
    bot = services.telegram.bot()
    sessions = session_factory(services.engine)
    messaging = messaging_for(settings)
    planner = Planner(sessions, messaging)
    escalator = Escalator(sessions, messaging)
    sender = Sender(
        bot,
        services.engine,
        sessions,
        limits=SendLimits.from_settings(settings),
        messaging=messaging,
    )
    try:
        async with asyncio.TaskGroup() as group:
            tidier = Tidier(sessions, AccessPolicy.from_settings(settings))
            redactor = Redactor(sessions, settings.retention_days)
            work = ticks(planner, escalator, tidier, redactor, plan_every=settings.tick_seconds)
            group.create_task(Ticker(work).run(stop))
            group.create_task(sender.run(stop))
    finally:
        await bot.session.close()


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: the role's stop event governs shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen(host: str, port: int) -> socket.socket:
    """The web role's listening socket, with TCP_NODELAY, which accepted connections inherit.

    asyncio sets TCP_NODELAY only on sockets whose protocol number is TCP's, and
    ``socket.create_server``'s is 0: without it, each answer on a kept-alive connection waited
    some 40 ms for the browser's delayed ACK (Nagle's algorithm holding the body back)."""
    listener = socket.create_server((host, port))
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


async def web_role(services: Services, stop: asyncio.Event) -> None:
    settings = services.settings
    try:
        listener = listen(settings.web_host, settings.web_port)
    except OSError as exc:
        raise AftercareError(
            f"Cannot listen on {settings.web_host}:{settings.web_port} ({exc.strerror}): "
            "set AFTERCARE_WEB_HOST / AFTERCARE_WEB_PORT."
        ) from None
    sandbox_url = services.telegram.api_base if settings.uses_sandbox else None
    webhook: TelegramWebhook | None = None
    if settings.webhook_url is not None:
        assert settings.webhook_secret is not None  # the settings require it with a URL
        webhook = TelegramWebhook(
            services.telegram.bot(), _dispatcher(services), settings.webhook_secret
        )
    config = uvicorn.Config(
        create_app(
            services.engine,
            sandbox_url=sandbox_url,
            webhook=webhook,
            console=ConsoleConfig.from_settings(settings, messaging_for(settings)),
        ),
        log_level="warning",
        access_log=False,
        forwarded_allow_ips=settings.trusted_proxies,
        lifespan="off",
    )
    server = _Server(config)
    try:
        with listener:
            async with asyncio.TaskGroup() as group:
                group.create_task(server.serve(sockets=[listener]))
                await stop.wait()
                server.should_exit = True
    finally:
        if webhook is not None:
            await webhook.bot.session.close()


ROLES: dict[str, Role] = {"bot": bot_role, "worker": worker_role, "web": web_role}


async def run_roles(services: Services, roles: Iterable[str], stop: asyncio.Event) -> None:
    """Run the named roles side by side until ``stop`` is set or one of them fails, serving
    their metrics on ``AFTERCARE_METRICS_PORT`` if set (unless the web role is among them: its
    ``/metrics`` shows the whole process's)."""
    roles = list(roles)
    try:
        with _metrics_server(services.settings, roles):
            async with asyncio.TaskGroup() as group:
                for role in roles:
                    group.create_task(_stop_all_on_exit(ROLES[role](services, stop), stop))
    except ExceptionGroup as failed:
        if len(failed.exceptions) == 1:
            raise failed.exceptions[0] from None  # one failure: let callers catch it as itself
        raise


@contextlib.contextmanager
def _metrics_server(settings: Settings, roles: list[str]) -> Iterator[None]:
    port = settings.metrics_port
    if port is None or "web" in roles:
        yield
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(serving(port, settings.web_host))
        except OSError as exc:
            raise AftercareError(
                f"Cannot serve metrics on {settings.web_host}:{port} ({exc.strerror}): "
                "set AFTERCARE_WEB_HOST / AFTERCARE_METRICS_PORT."
            ) from None
        yield


async def _stop_all_on_exit(work: Awaitable[None], stop: asyncio.Event) -> None:
    try:
        await work
    finally:
        stop.set()


def settle_heap() -> None:
    """Exempt what is alive once a process has started (modules, models, metadata) from the
    cyclic garbage collector, whose full collections would otherwise walk it again and again
    while a tick allocates: a planning tick runs about a third faster (docs/performance.md).
    Memory freed by reference counting is unaffected."""
    gc.collect()
    gc.freeze()


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
