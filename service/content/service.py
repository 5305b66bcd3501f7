"""The message library in the database: seeding it, reading what is published, and composing a
tailored message for a client with the record of why it was chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from service.alerts.routing import AlertRouting
from service.clients.models import Client, ClientRecord
from service.columns import among
from service.content.compose import ClientFacts, client_context
from service.content.crisis_lines import CrisisLines, shipped_lines
from service.content.library import Meta, Source, load
from service.content.models import Template, TemplateVersion
from service.content.rendering import Renderer
from service.content.tailoring import (
    NO_REPEAT_DAYS,
    Candidates,
    Choice,
    Heard,
    Moment,
    Profile,
    candidates,
    pick,
)
from service.db import session_factory
from service.signals.models import Signal
from service.staff.models import StaffMember

SIGNAL_DAYS = 14  # how far back "recent signals" reach
SEED = Path(__file__).resolve().parents[2] / "templates" / "messages"
_SEED_LOCK = 0x4166_7465_7273  # one seeding at a time across processes


@dataclass(frozen=True)
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_edits: int = 0  # templates an admin has edited: the seed does not overwrite them


async def seed_library(engine: AsyncEngine, folder: Path = SEED) -> SyncReport:
    """Load the seed library from its files into the database (at migrate and start-up)."""
    sources = load(folder)
    async with session_factory(engine)() as session, session.begin():
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_SEED_LOCK)))
        return await sync_library(session, sources)


async def sync_library(session: AsyncSession, sources: Sequence[Source]) -> SyncReport:
    """Bring the seed library into the database.

    A new template gets version 1, published. A seed template whose text changed gets a new
    published version, numbered after every version there is, unless an admin has written a
    version of their own (``created_by`` set), published or a draft: their words win and the
    seed change is left for them to review.
    """
    templates = {
        (template.key, template.language): template
        for template in await session.scalars(sa.select(Template))
    }
    latest = await _published_versions(session)
    numbered = {
        template_id: (int(last), bool(edited))
        for template_id, last, edited in await session.execute(
            sa.select(
                col(TemplateVersion.template_id),
                sa.func.max(col(TemplateVersion.version)),
                sa.func.bool_or(col(TemplateVersion.created_by).is_not(None)),
            ).group_by(col(TemplateVersion.template_id))
        )
    }
    created = updated = unchanged = kept = 0
    for source in sources:
        meta = source.meta
        template = templates.get((meta.id, meta.language))
        if template is None:
            template = Template(
                key=meta.id,
                language=meta.language,
                category=meta.category,
                technique=meta.technique,
            )
            session.add(template)
            created += 1
        current = latest.get(template.id) if template.id is not None else None
        _describe(template, meta)
        if current is not None and current.body == source.body:
            unchanged += 1
            continue
        last, edited = numbered.get(template.id, (0, False)) if template.id else (0, False)
        if edited:
            kept += 1
            continue
        if current is not None:
            updated += 1
        await session.flush()
        assert template.id is not None
        version = last + 1
        session.add(TemplateVersion(template_id=template.id, version=version, body=source.body))
        template.published_version = version
    await session.flush()
    return SyncReport(created, updated, unchanged, kept)


def _describe(template: Template, meta: Meta) -> None:
    template.category = meta.category.value
    template.technique = meta.technique.value
    template.values = list(meta.values)
    template.stages = list(meta.stages)
    template.extras = dict(meta.extras)


async def _published_versions(session: AsyncSession) -> dict[int, TemplateVersion]:
    rows = await session.execute(
        sa.select(TemplateVersion)
        .join(Template, col(Template.id) == col(TemplateVersion.template_id))
        .where(col(TemplateVersion.version) == col(Template.published_version))
    )
    return {version.template_id: version for version in rows.scalars()}


@dataclass(frozen=True)
class Published:
    source: Source
    version_id: int


async def published_library(session: AsyncSession) -> list[Published]:
    """Every template's published version, as the tailoring and rendering code reads them."""
    rows = await session.execute(
        sa.select(Template, TemplateVersion)
        .join(TemplateVersion, col(TemplateVersion.template_id) == col(Template.id))
        .where(col(TemplateVersion.version) == col(Template.published_version))
    )
    library = []
    for template, version in rows:
        assert version.id is not None
        library.append(Published(Source(meta_of(template), version.body, 1), version.id))
    return library


def meta_of(template: Template) -> Meta:
    """A template's metadata as the library files describe it, from its database record."""
    return Meta.from_record(
        template.key,
        category=template.category,
        technique=template.technique,
        language=template.language,
        values=template.values,
        stages=template.stages,
        extras=template.extras,
    )


@dataclass(frozen=True)
class Situation:
    """A client as tailoring sees them on a day."""

    profile: Profile
    facts: ClientFacts
    discharge_date: date
    history: list[Heard]


async def situation(session: AsyncSession, client: Client, now: datetime) -> Situation:
    assert client.id is not None
    return (await situations(session, [client], now))[client.id]


async def situations(
    session: AsyncSession, clients: Sequence[ClientRecord], now: datetime
) -> dict[int, Situation]:
    """Many clients' situations in three queries (signals, coordinators, what they heard)."""
    ids = [client.id for client in clients if client.id is not None]
    signals: dict[int, set[str]] = {client_id: set() for client_id in ids}
    for client_id, kind in await session.execute(
        sa.select(col(Signal.client_id), col(Signal.kind)).where(
            among(col(Signal.client_id), ids),
            col(Signal.created_at) >= now - timedelta(days=SIGNAL_DAYS),
        )
    ):
        signals[client_id].add(str(kind))
    coordinator_ids = {client.coordinator_id for client in clients if client.coordinator_id}
    coordinators = {
        staff_id: name
        for staff_id, name in await session.execute(
            sa.select(col(StaffMember.id), col(StaffMember.name)).where(
                col(StaffMember.id).in_(coordinator_ids)
            )
        )
    }
    history = await heard_by(session, ids, now)
    seen: dict[int, Situation] = {}
    for client in clients:
        assert client.id is not None
        discharge = client.discharge_date or client.created_at.date()
        coordinator = coordinators.get(client.coordinator_id or 0, "").strip()
        profile = Profile(
            client.id,
            client.language,
            tuple(client.values),
            client.stage_of_change,
            (now.date() - discharge).days,
            frozenset(signals[client.id]),
        )
        facts = ClientFacts(
            client.first_name,
            client.language,
            dict(client.reasons),
            client.sobriety_date,
            coordinator.split()[0] if coordinator else None,
        )
        seen[client.id] = Situation(profile, facts, discharge, history.get(client.id, []))
    return seen


# The planner reads a month of history for every client it plans: through the driver, rows cost a
# microsecond each instead of the ORM's ten or more.
HEARD = """
SELECT o.client_id, t.key, coalesce((o.reason ->> 'on')::date, o.created_at::date),
       o.reason ->> 'value'
FROM outbox_messages AS o
JOIN template_versions AS v ON v.id = o.template_version_id
JOIN templates AS t ON t.id = v.template_id
WHERE o.client_id = ANY($1::int[]) AND o.created_at >= $2
"""


async def heard_by(
    session: AsyncSession, client_ids: Sequence[int], now: datetime
) -> dict[int, list[Heard]]:
    """The templates each client received in the no-repeat window, from the outbox."""
    raw = await (await session.connection()).get_raw_connection()
    assert raw.driver_connection is not None
    rows = await raw.driver_connection.fetch(
        HEARD, list(client_ids), now - timedelta(days=NO_REPEAT_DAYS)
    )
    heard: dict[int, list[Heard]] = {}
    for client_id, key, on, value in rows:
        heard.setdefault(client_id, []).append(Heard(key, on, value))
    return heard


@dataclass(frozen=True)
class Composed:
    text: str
    template_version_id: int
    reason: dict[str, Any]


class Library:
    """The published library, read once and reused while nothing is published or rolled back.

    Checking costs one aggregate over ``templates`` (a digest of every template's published
    version), instead of reading every body for every message.
    """

    def __init__(self) -> None:
        self._digest: str | None = None
        self._items: list[Published] = []
        self._metas: list[Meta] = []
        self._by_key: dict[tuple[str, str], Published] = {}
        self._by_category: dict[str, list[Meta]] = {}
        self._candidates: dict[tuple[Any, ...], Candidates | None] = {}

    async def refresh(self, session: AsyncSession) -> None:
        digest = await session.scalar(
            sa.select(
                sa.func.md5(
                    sa.func.string_agg(
                        sa.cast(col(Template.id), sa.Text)
                        + ":"
                        + sa.cast(sa.func.coalesce(col(Template.published_version), 0), sa.Text),
                        aggregate_order_by(sa.literal_column("','"), col(Template.id)),
                    )
                )
            )
        )
        if digest != self._digest or not self._items:
            self._items = await published_library(session)
            self._metas = [item.source.meta for item in self._items]
            self._by_key = {(i.source.meta.id, i.source.meta.language): i for i in self._items}
            self._by_category = {}
            self._candidates = {}
            for meta in self._metas:
                self._by_category.setdefault(meta.category, []).append(meta)
            self._digest = digest

    @property
    def metas(self) -> list[Meta]:
        return self._metas

    def choose(self, profile: Profile, moment: Moment, history: Sequence[Heard]) -> Choice | None:
        """`tailoring.choose` over the published library; the candidates for a kind of client
        (language, values, stage) and moment are worked out once."""
        key = (
            moment.category,
            tuple(sorted(moment.extras.items())),
            profile.language,
            profile.values,
            profile.stage,
        )
        if key not in self._candidates:
            metas = self._by_category.get(moment.category, [])
            self._candidates[key] = candidates(metas, profile, moment)
        found = self._candidates[key]
        return pick(found, profile, moment, history) if found is not None else None

    def published(self, meta: Meta) -> Published:
        return self._by_key[(meta.id, meta.language)]


async def compose(
    session: AsyncSession,
    client: Client,
    moment: Moment,
    now: datetime,
    renderer: Renderer,
    *,
    library: Library | None = None,
) -> Composed | None:
    """The tailored message for a client at a moment, with its template version and reason.

    Pass a long-lived ``library`` to reuse the published templates between messages.
    """
    library = library or Library()
    await library.refresh(session)
    return compose_for(await situation(session, client, now), moment, library, renderer)


def compose_for(
    seen: Situation, moment: Moment, library: Library, renderer: Renderer
) -> Composed | None:
    """`compose` for a situation already read, with a library already refreshed."""
    choice = library.choose(seen.profile, moment, seen.history)
    if choice is None:
        return None
    picked = library.published(choice.meta)
    context = client_context(seen.facts, choice.value, moment.on)
    text = renderer.render(picked.source.body, context).text
    reason = {
        **choice.reason,
        "template": choice.meta.id,
        "version_id": picked.version_id,
        "on": moment.on.isoformat(),  # the client's date it was chosen for
    }
    return Composed(text, picked.version_id, reason)


@dataclass(frozen=True)
class Messaging:
    """What composing messages needs, made once per process and shared: the cached library, the
    renderer, the console's address for links in staff alerts, where alerts go, and the crisis
    lines crisis responses give."""

    library: Library = field(default_factory=Library)
    renderer: Renderer = field(default_factory=Renderer)
    console_url: str = "http://127.0.0.1:8080"
    alerts: AlertRouting = field(default_factory=AlertRouting)
    crisis_lines: CrisisLines = field(default_factory=shipped_lines)


async def compose_plain(
    session: AsyncSession,
    messaging: Messaging,
    moment: Moment,
    facts: ClientFacts,
    subject_id: int,
) -> Composed | None:
    """A library message that needs no history or values (crisis, confirmations), for anyone,
    enrolled or not. ``subject_id`` varies the choice between people."""
    await messaging.library.refresh(session)
    choice = messaging.library.choose(Profile(subject_id, facts.language), moment, [])
    if choice is None:
        return None
    picked = messaging.library.published(choice.meta)
    text = messaging.renderer.render(
        picked.source.body, client_context(facts, None, moment.on)
    ).text
    reason = {**choice.reason, "template": choice.meta.id, "version_id": picked.version_id}
    return Composed(text, picked.version_id, reason)
