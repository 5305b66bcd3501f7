"""The migrations and the models describe the same schema, and migrations run both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL

from service.db import create_engine
from service.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from service.schema import metadata


async def test_autogenerate_finds_no_difference(database_url: URL) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url: URL) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert await current_revision(engine) is None
        await upgrade_to_head(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
            await conn.commit()
        assert await current_revision(engine) is None
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # a second upgrade at head changes nothing
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()
