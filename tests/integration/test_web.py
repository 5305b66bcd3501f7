"""Health endpoints: /healthz says the process is up, /readyz that the database is usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.clients.invites import invite_client, invite_staff
from service.db import create_engine
from service.staff.models import StaffRole
from service.web.app import create_app

NOW = datetime(2026, 11, 26, tzinfo=UTC)
TTL = timedelta(days=1)


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


async def test_not_ready_before_migrations(empty_engine: AsyncEngine) -> None:
    async with _client(empty_engine) as web:
        ready = await web.get("/readyz")
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


async def test_the_status_page_counts_people_without_naming_them(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await invite_client(
            session, first_name="<b>Ana</b>", timezone="UTC", language="en", ttl=TTL, now=NOW
        )
        await invite_staff(session, name="Dana", role=StaffRole.coordinator, ttl=TTL, now=NOW)
        await session.commit()
    app = create_app(engine, sandbox_url="http://127.0.0.1:8081")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        page = await web.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html
    assert '<span class="ok">ready</span>' in html
    assert "<tr><td>invited, link not used yet</td><td>1</td></tr>" in html
    assert "linked in Telegram: 0 of 1." in html
    assert "<code>http://127.0.0.1:8081</code>" in html
    assert "Ana" not in html
    assert "Dana" not in html


async def test_the_status_page_says_when_the_database_is_behind(empty_engine: AsyncEngine) -> None:
    async with _client(empty_engine) as web:
        page = await web.get("/")
    assert page.status_code == 503
    assert '<span class="bad">migrating</span>' in page.text
    assert "Alumni by state" not in page.text
