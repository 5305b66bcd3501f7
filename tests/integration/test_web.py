"""Health endpoints: /healthz says the process is up, /readyz that the database is usable."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import create_engine
from service.web.app import create_app


def _client(engine: AsyncEngine) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine)), base_url="http://test"
    )


async def test_ready_when_the_schema_is_at_head(engine: AsyncEngine) -> None:
    async with _client(engine) as web:
        assert (await web.get("/healthz")).json() == {"status": "ok"}
        ready = await web.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_not_ready_before_migrations(empty_database_url: URL) -> None:
    engine = create_engine(empty_database_url)
    try:
        async with _client(engine) as web:
            ready = await web.get("/readyz")
    finally:
        await engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["status"] == "migrating"


async def test_not_ready_without_a_database() -> None:
    engine = create_engine(URL.create("postgresql+asyncpg", host="127.0.0.1", port=1, database="x"))
    try:
        async with _client(engine) as web:
            assert (await web.get("/healthz")).status_code == 200
            ready = await web.get("/readyz")
    finally:
        await engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
