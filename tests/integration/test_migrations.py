"""The migrations and the models describe the same schema, and migrations run both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from service.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from service.schema import metadata


async def test_autogenerate_finds_no_difference(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(
                    sync, opts={"compare_type": True, "compare_server_default": True}
                ),
                metadata,
            )
        )
    assert diff == []


async def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_engine: AsyncEngine) -> None:
    assert await current_revision(empty_engine) is None
    await upgrade_to_head(empty_engine)
    assert await current_revision(empty_engine) == head_revision()
    async with empty_engine.connect() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
        await conn.commit()
    assert await current_revision(empty_engine) is None
    await upgrade_to_head(empty_engine)
    await upgrade_to_head(empty_engine)  # a second upgrade at head changes nothing
    assert await current_revision(empty_engine) == head_revision()
