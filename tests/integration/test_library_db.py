"""The library in PostgreSQL: seeded, versioned, admins' edits kept, and every message explained."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.clients.models import Client
from service.content.library import Category, load
from service.content.models import Template, TemplateVersion
from service.content.rendering import Renderer
from service.content.service import SEED, Library, compose, published_library, sync_library
from service.content.tailoring import Moment
from service.outbox.models import Lane, OutboxMessage
from service.outbox.service import enqueue
from service.staff.models import ConsoleRole, ConsoleUser

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


async def test_the_seed_is_published_and_syncing_again_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seed = load(SEED)
    async with sessions() as session:
        library = await published_library(session)
        assert len(library) == len(seed)
        report = await sync_library(session, seed)
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(seed))


async def test_a_changed_seed_text_becomes_a_new_version_unless_an_admin_edited_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seed = load(SEED)
    first, second = seed[0], seed[1]
    async with sessions() as session:
        admin = ConsoleUser(email="admin@example.org", password_hash="x", role=ConsoleRole.admin)
        session.add(admin)
        await session.flush()
        template = await session.scalar(
            sa.select(Template).where(
                col(Template.key) == second.meta.id, col(Template.language) == second.meta.language
            )
        )
        assert template is not None and template.id is not None
        session.add(
            TemplateVersion(
                template_id=template.id, version=2, body="An admin's words.\n", created_by=admin.id
            )
        )
        template.published_version = 2
        changed = [
            replace(first, body="A better seed text.\n"),
            replace(second, body="Also new.\n"),
        ]
        report = await sync_library(session, changed)
        await session.commit()
    assert (report.updated, report.kept_edits) == (1, 1)
    async with sessions() as session:
        bodies = {
            (item.source.meta.id, item.source.meta.language): item.source.body
            for item in await published_library(session)
        }
    assert bodies[(first.meta.id, first.meta.language)] == "A better seed text.\n"
    assert bodies[(second.meta.id, second.meta.language)] == "An admin's words.\n"


async def test_a_seed_change_leaves_an_admins_unpublished_draft_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seed = load(SEED)
    async with sessions() as session:
        admin = ConsoleUser(email="admin@example.org", password_hash="x", role=ConsoleRole.admin)
        session.add(admin)
        await session.flush()
        template = await session.scalar(
            sa.select(Template).where(
                col(Template.key) == seed[0].meta.id,
                col(Template.language) == seed[0].meta.language,
            )
        )
        assert template is not None and template.id is not None
        draft = TemplateVersion(
            template_id=template.id, version=2, body="A draft.\n", created_by=admin.id
        )
        session.add(draft)
        report = await sync_library(session, [replace(seed[0], body="A new seed text.\n")])
        await session.commit()
    assert report.kept_edits == 1
    async with sessions() as session:
        versions = await session.scalars(
            sa.select(col(TemplateVersion.body))
            .where(col(TemplateVersion.template_id) == template.id)
            .order_by(col(TemplateVersion.version))
        )
        assert list(versions) == [seed[0].body, "A draft.\n"]


async def test_a_composed_message_records_its_template_version_and_why(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    renderer = Renderer()
    async with sessions() as session:
        client = Client(
            code="TST123",
            first_name="Maya",
            timezone="America/Chicago",
            language="es",
            values=["nature", "work"],
            reasons={"nature": "el mar me calma"},
            discharge_date=date(2026, 11, 1),
            sobriety_date=date(2026, 11, 1),
            telegram_chat_id=99,
        )
        session.add(client)
        await session.flush()
        heard = []
        for offset in range(4):
            moment = Moment(Category.values_reflection, NOW.date() + timedelta(days=offset))
            composed = await compose(
                session, client, moment, NOW + timedelta(days=offset), renderer
            )
            assert composed is not None
            await enqueue(
                session,
                chat_id=99,
                text=composed.text,
                lane=Lane.scheduled,
                client_id=client.id,
                reason=composed.reason,
                template_version_id=composed.template_version_id,
            )
            heard.append(composed)
        await session.commit()
    assert [c.reason["value"] for c in heard] == ["nature", "work", "nature", "work"]
    assert len({c.template_version_id for c in heard}) == 4  # nothing heard twice
    assert all(c.reason["language"] == "es" for c in heard)
    assert all(c.reason["template"].startswith("values_reflection-") for c in heard)
    async with sessions() as session:
        rows = (
            await session.scalars(sa.select(OutboxMessage).order_by(col(OutboxMessage.id)))
        ).all()
    assert [row.template_version_id for row in rows] == [c.template_version_id for c in heard]
    assert rows[0].reason["value"] == "nature"
    assert rows[0].reason["version_id"] == heard[0].template_version_id


async def test_preview_shows_a_client_what_they_would_receive(
    database_url: URL, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        client = Client(
            code="PRV123",
            first_name="Rosa",
            timezone="America/Denver",
            language="es",
            values=["helping_others"],
            discharge_date=date(2026, 12, 1),
            sobriety_date=date(2026, 11, 28),
        )
        session.add(client)
        await session.commit()
    assert client.id is not None
    items = await _preview(database_url, client.id, days=14)
    assert [item["on"] for item in items] == [f"2026-12-{day:02d}" for day in range(1, 15)]
    assert all(item["reason"]["language"] == "es" for item in items)
    assert {item["reason"].get("value") for item in items} - {None} == {"helping_others"}
    assert items[0]["category"] == "checkin_opener"
    assert next(i for i in items if i["on"] == "2026-12-05")["category"] == "milestone"  # day 7
    assert len({item["template_id"] for item in items}) == len(items)


async def test_the_library_cache_sees_a_publish_and_a_rollback(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    library = Library()
    async with sessions() as session:
        await library.refresh(session)
        meta = library.metas[0]
        seeded = library.published(meta)
        template = await session.scalar(
            sa.select(Template).where(
                col(Template.key) == meta.id, col(Template.language) == meta.language
            )
        )
        assert template is not None and template.id is not None
        session.add(TemplateVersion(template_id=template.id, version=2, body="Edited.\n"))
        template.published_version = 2
        await session.commit()
        await library.refresh(session)
        assert library.published(meta).source.body == "Edited.\n"
        template.published_version = 1  # rollback
        await session.commit()
        await library.refresh(session)
        assert library.published(meta).source.body == seeded.source.body
        assert library.published(meta).version_id == seeded.version_id


async def test_a_clients_preview_follows_their_own_cadence(
    database_url: URL, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        client = Client(
            code="PRV124",
            first_name="Lee",
            timezone="Europe/Madrid",
            values=["family"],
            discharge_date=date(2026, 12, 1),
            cadence_override={"phases": [{"days": "mon", "mix": ["checkin", "affirmation"]}]},
        )
        session.add(client)
        await session.commit()
    assert client.id is not None
    items = await _preview(database_url, client.id, days=21)
    assert [item["on"] for item in items] == ["2026-12-07", "2026-12-14", "2026-12-21"]  # Mondays
    assert [item["category"] for item in items] == [
        "checkin_opener",
        "affirmation",
        "checkin_opener",
    ]


async def _preview(database_url: URL, client_id: int, *, days: int) -> list[dict[str, Any]]:
    """`aftercare templates preview --client ID --json` from 2026-12-01, as a person runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")}
    env["AFTERCARE_DATABASE_URL"] = database_url.render_as_string(hide_password=False)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "templates", "preview",
        "--client", str(client_id), "--days", str(days), "--start", "2026-12-01", "--json",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]
