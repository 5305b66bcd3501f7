"""`aftercare worker` processes on one database, as deployed: they share the due touches with no
duplicates, and killing one at any moment loses nothing.

Clients are due now in a fixed-offset timezone where it is mid-day, so the real clock of the
worker processes finds them inside their window. The sandbox enforces Telegram's limits (30
messages a second), so a backlog of a few hundred takes seconds to send: time to kill a worker
in the middle of it.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.checkins.models import Checkin
from service.columns import utcnow
from service.outbox.models import OutboxMessage, OutboxStatus
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from tests.people import due_clients
from tests.waiting import eventually

FIRST_CHAT = 50_000


def due_now(count: int) -> list[datetime]:
    return [utcnow() - timedelta(minutes=1)] * count


async def deliveries(telegram: SandboxClient) -> Counter[int]:
    """Messages Telegram accepted, per chat."""
    calls = await telegram.calls("sendMessage")
    return Counter(int(call["params"]["chat_id"]) for call in calls if call["ok"])


@asynccontextmanager
async def worker(
    database_url: URL, sandbox: SandboxServer, tmp: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """An `aftercare worker` process; stopped with SIGTERM at the end unless already gone."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    env |= {
        "AFTERCARE_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "AFTERCARE_SANDBOX_PORT": str(urlsplit(sandbox.base_url).port),
        "AFTERCARE_DATA_DIR": tmp,
        "AFTERCARE_TICK_SECONDS": "1",
        # Two thirds of the sandbox's 30/s: the sandbox runs in this test process, whose pauses
        # (a long suite's garbage collections) bunch the requests it reads by up to a third of a
        # second; two workers both sending, at 40/s, would still be rejected.
        "AFTERCARE_SEND_PER_SECOND": "20",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "worker",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, errors = await process.communicate()
        assert b"Traceback" not in errors, errors.decode()


async def outcome(sessions: async_sessionmaker[AsyncSession]) -> tuple[Counter[int], int]:
    """Check-ins per client, and outbox rows not yet sent."""
    async with sessions() as session:
        checkins = Counter((await session.scalars(sa.select(col(Checkin.client_id)))).all())
        pending = await session.scalar(
            sa.select(sa.func.count()).where(col(OutboxMessage.status) != OutboxStatus.sent)
        )
    return checkins, pending or 0


async def test_two_workers_share_the_due_touches_and_send_each_once(
    database_url: URL,
    sandbox: SandboxServer,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: os.PathLike[str],
) -> None:
    chats = await due_clients(sessions, telegram, due_now(100), first=FIRST_CHAT)
    async with (
        worker(database_url, sandbox, str(tmp_path)),
        worker(database_url, sandbox, str(tmp_path)),
    ):
        await eventually(lambda: _count(telegram), len(chats), within=60)
    assert await deliveries(telegram) == Counter(dict.fromkeys(chats, 1))
    checkins, pending = await outcome(sessions)
    assert sorted(checkins.values()) == [1] * len(chats) and pending == 0
    rejected = [call for call in await telegram.calls() if call["status"] == 429]
    assert rejected == []  # paced to Telegram's limits, from whichever worker sent


async def _count(telegram: SandboxClient) -> int:
    return sum((await deliveries(telegram)).values())


async def _sent_at_least(telegram: SandboxClient, count: int) -> bool:
    return await _count(telegram) >= count


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_a_worker_stopped_mid_dispatch_loses_nothing_when_another_starts(
    kill: signal.Signals,
    *,
    database_url: URL,
    sandbox: SandboxServer,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: os.PathLike[str],
) -> None:
    chats = await due_clients(
        sessions, telegram, due_now(120), first=FIRST_CHAT
    )  # six seconds of sending at 20/s
    async with worker(database_url, sandbox, str(tmp_path)) as first:
        await eventually(lambda: _sent_at_least(telegram, 30), True, within=60)
        await asyncio.sleep(random.uniform(0, 2))
        first.send_signal(kill)
        async with asyncio.timeout(30):
            await first.wait()
    sent_before = await _count(telegram)
    assert sent_before < len(chats), "the worker should have been stopped mid-dispatch"
    if kill == signal.SIGTERM:
        assert first.returncode == 0  # in-flight sends finished, their outcomes written
    async with worker(database_url, sandbox, str(tmp_path)):
        await eventually(lambda: _sent_at_least(telegram, len(chats)), True, within=60)
        await eventually(lambda: _pending(sessions), 0, within=30)
    delivered = await deliveries(telegram)
    assert set(delivered) == set(chats)  # nothing lost
    twice = [chat for chat, times in delivered.items() if times > 1]
    # Only a message Telegram accepted in the instant before the kill, and not yet marked sent,
    # can go twice; a graceful stop leaves none.
    assert len(twice) <= (0 if kill == signal.SIGTERM else 2), twice
    checkins, _ = await outcome(sessions)
    assert sorted(checkins.values()) == [1] * len(chats)  # planned exactly once


async def _pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    return (await outcome(sessions))[1]
