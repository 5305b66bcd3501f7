"""Which failures make the sender stand by (the database went away) and which stop the worker."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from service.outbox.sender import connection_lost

CLOSED_MID_QUERY = sa.exc.DBAPIError(
    "UPDATE outbox_messages ...",
    None,
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    connection_invalidated=True,
)
REFUSED = sa.exc.IntegrityError("INSERT ...", None, Exception("duplicate key"))


def test_a_lost_connection_however_it_is_raised() -> None:
    assert connection_lost(ConnectionRefusedError()) == "ConnectionRefusedError"
    assert connection_lost(asyncpg.ConnectionDoesNotExistError()) == "ConnectionDoesNotExistError"
    assert connection_lost(sa.exc.OperationalError("SELECT 1", None, OSError())) == (
        "OperationalError"
    )
    # SQLAlchemy's asyncpg adapter raises this one as a plain DBAPIError that invalidated its
    # connection: it used to stop the worker when a write-back was cut off.
    assert connection_lost(CLOSED_MID_QUERY) == "DBAPIError"


@pytest.mark.parametrize(
    "refusal",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),  # 57P03
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionFailureError("connection failure"),  # class 08
    ],
    ids=lambda refusal: type(refusal).__name__,
)
async def test_a_server_restarting_or_starting_up_is_a_lost_connection(
    refusal: asyncpg.PostgresError,
) -> None:
    """What a server says while it restarts, raw and as SQLAlchemy passes it on (a plain
    DBAPIError that did not invalidate a connection): the sender stands by and tries again."""

    async def connect() -> asyncpg.Connection:
        raise refusal

    engine = create_async_engine("postgresql+asyncpg://", async_creator=connect)
    with pytest.raises(sa.exc.DBAPIError) as raised:
        await engine.connect()
    await engine.dispose()
    assert connection_lost(raised.value) == type(raised.value).__name__
    assert connection_lost(refusal) == type(refusal).__name__


def test_a_task_groups_failures_count_when_all_of_them_are_lost_connections() -> None:
    inner = ExceptionGroup("writer", [CLOSED_MID_QUERY])
    assert connection_lost(ExceptionGroup("shift", [inner, OSError()])) == "DBAPIError, OSError"
    assert connection_lost(ExceptionGroup("shift", [inner, REFUSED])) is None


def test_anything_else_is_not_a_lost_connection() -> None:
    assert connection_lost(REFUSED) is None
    assert connection_lost(sa.exc.DBAPIError("SELECT 1", None, Exception("boom"))) is None
    assert connection_lost(ValueError("a bug")) is None
    assert connection_lost(asyncpg.QueryCanceledError("statement timeout")) is None  # 57014
