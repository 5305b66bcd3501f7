"""What state the service is in: used by /readyz and by the status page."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from service.clients.models import Client, ClientState
from service.migrate import current_revision, head_revision
from service.staff.models import StaffMember

STATE_LABELS = {
    ClientState.invited: "invited, link not used yet",
    ClientState.consent_pending: "linked, consent not given yet",
    ClientState.onboarding: "onboarding",
    ClientState.active: "receiving check-ins",
    ClientState.paused: "paused",
    ClientState.opted_out: "opted out",
    ClientState.erased: "data erased",
}


@dataclass(frozen=True)
class DatabaseStatus:
    ready: bool
    problem: str | None  # "unavailable" or "migrating" when not ready
    revision: str | None
    head: str | None


@dataclass(frozen=True)
class Overview:
    database: DatabaseStatus
    clients: list[tuple[str, int]] = field(default_factory=list)
    staff_linked: int = 0
    staff_total: int = 0


async def database_status(engine: AsyncEngine) -> DatabaseStatus:
    head = head_revision()
    try:
        revision = await current_revision(engine)
    except (OSError, sa.exc.SQLAlchemyError):
        return DatabaseStatus(False, "unavailable", None, head)
    if revision != head:
        return DatabaseStatus(False, "migrating", revision, head)
    return DatabaseStatus(True, None, revision, head)


async def overview(engine: AsyncEngine) -> Overview:
    """Counts for the status page; no names or other personal data."""
    database = await database_status(engine)
    if not database.ready:
        return Overview(database)
    async with engine.connect() as conn:
        by_state = await conn.execute(
            sa.select(col(Client.state), sa.func.count())
            .group_by(col(Client.state))
            .order_by(col(Client.state))
        )
        staff = (
            await conn.execute(
                sa.select(sa.func.count(col(StaffMember.telegram_user_id)), sa.func.count())
            )
        ).one()
    return Overview(
        database,
        clients=[(STATE_LABELS[state], count) for state, count in by_state],
        staff_linked=staff[0],
        staff_total=staff[1],
    )
