"""Alembic environment: async, targets ``SQLModel.metadata``.

The connection comes from ``service.migrate`` (``config.attributes["connection"]``); run from the
``alembic`` command line, the URL comes from the service's own settings.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from service.schema import metadata

config = context.config


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from service.config import load_settings
    from service.db import create_engine, resolve_database_url

    engine = create_engine(await resolve_database_url(load_settings()))
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run `aftercare migrate`.")

connection = config.attributes.get("connection")
if connection is None:
    asyncio.run(run_from_settings())
else:
    do_run_migrations(connection)
