"""Test harness: real PostgreSQL, one fresh database per test, cloned from a migrated template.

PostgreSQL is the server at ``AFTERCARE_TEST_DATABASE_URL`` when that is set (CI sets it when a
server listens on 127.0.0.1:5432), else an embedded one under ``var/test``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.checkins.programs import seed_programs
from service.config import Settings, load_settings
from service.content.service import seed_library
from service.db import (
    _asyncpg_params,
    asyncpg_url,
    create_engine,
    session_factory,
    start_embedded_postgres,
)
from service.migrate import upgrade_to_head
from service.runtime import Services
from service.sandbox import RateLimits
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, SANDBOX_USERNAME, Telegram
from tests.console import Clock
from tests.people import service_running

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    configured = os.environ.get("AFTERCARE_TEST_DATABASE_URL")
    if configured:
        return asyncpg_url(configured)
    return start_embedded_postgres(ROOT / "var" / "test")


async def _admin(url: URL, sql: str) -> None:
    conn = await asyncpg.connect(**_asyncpg_params(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(pg_admin_url: URL) -> AsyncIterator[str]:
    """A database migrated to head, from which each test's database is copied."""
    name = f"aftercare_template_{uuid.uuid4().hex[:12]}"
    await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
    engine = create_engine(pg_admin_url.set(database=name))
    try:
        await upgrade_to_head(engine)
        await seed_programs(engine)
        await seed_library(engine)
    finally:
        await engine.dispose()
    yield name
    await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def new_database(admin: URL, template: str | None = None) -> URL:
    name = f"aftercare_test_{uuid.uuid4().hex[:12]}"
    clone = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    await _admin(admin, f'CREATE DATABASE "{name}"{clone}')
    return admin.set(database=name)


async def drop_database(admin: URL, url: URL) -> None:
    await _admin(admin, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture
async def database_url(pg_admin_url: URL, template_database: str) -> AsyncIterator[URL]:
    """A database of this test's own, at the latest migration."""
    url = await new_database(pg_admin_url, template_database)
    yield url
    await drop_database(pg_admin_url, url)


@pytest.fixture
async def empty_database_url(pg_admin_url: URL) -> AsyncIterator[URL]:
    """A database of this test's own with no schema at all."""
    url = await new_database(pg_admin_url)
    yield url
    await drop_database(pg_admin_url, url)


@pytest.fixture
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def empty_engine(empty_database_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def settings(tmp_path: Path, database_url: URL) -> Settings:
    """This test's database. No per-chat pacing: conversations would wait a second a message
    (the sandbox still enforces Telegram's limits, and tests/integration/test_sender.py tests
    pacing itself); the planner ticks once as the worker starts, then not within a test."""
    return load_settings(
        database_url=database_url.render_as_string(hide_password=False),
        data_dir=tmp_path,
        send_per_chat_per_second=0,
        tick_seconds=3600,
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """The local Bot API server, a fresh world per test."""
    # Telegram's limits, with room for a conversation's bursts: the sender's pacing comes later.
    limits = RateLimits(per_chat_burst=20)
    async with SandboxServer(
        bot_token=SANDBOX_TOKEN, bot_username=SANDBOX_USERNAME, rate_limits=limits
    ) as server:
        yield server


@pytest.fixture
async def telegram(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    """Acts as people in Telegram: sends texts, presses buttons, reads what the bot sent."""
    async with SandboxClient(sandbox.base_url) as client:
        yield client


@pytest.fixture
def services(settings: Settings, engine: AsyncEngine, sandbox: SandboxServer) -> Services:
    """What the roles run on: this test's settings and database, and the sandbox Bot API."""
    return Services(settings, engine, Telegram(SANDBOX_TOKEN, sandbox.base_url))


@pytest.fixture
async def bot_service(services: Services) -> AsyncIterator[Services]:
    """The bot and worker roles running against the sandbox and this test's database."""
    async with service_running(services):
        yield services


@pytest.fixture
def clock() -> Clock:
    """The console's clock in a test: 2026-11-26 09:00 UTC until advanced."""
    return Clock()
