"""Programs and cadence overrides: the data the planner schedules by, and who changed it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from service.audit.models import ActorKind
from service.audit.service import Actor, record_audit
from service.checkins.cadence import DEFAULT, Cadence
from service.checkins.models import CadenceChange
from service.clients.models import Client, Program
from service.db import session_factory
from service.errors import InvalidCadence

STANDARD = "standard"  # the program new clients join: the default cadence until edited


def checked(data: dict[str, Any], override: dict[str, Any] | None = None) -> Cadence:
    try:
        return Cadence.parse(data, override)
    except ValueError as exc:
        raise InvalidCadence(f"The cadence is not valid: {exc}") from None


async def seed_programs(engine: AsyncEngine) -> None:
    """The standard program, unless it is there already (an admin's edits stay)."""
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            insert(Program)
            .values(name=STANDARD, cadence=DEFAULT.data())
            .on_conflict_do_nothing(index_elements=["name"])
        )


async def standard_program_id(session: AsyncSession) -> int | None:
    return await session.scalar(sa.select(col(Program.id)).where(col(Program.name) == STANDARD))


async def save_program(
    session: AsyncSession, name: str, data: dict[str, Any], *, actor: ActorKind
) -> Program:
    """Create or replace a program's cadence, once it validates; its clients follow it from
    their next touch."""
    cadence = checked(data)
    program = await session.scalar(sa.select(Program).where(col(Program.name) == name))
    if program is None:
        program = Program(name=name, cadence=cadence.data())
        session.add(program)
    else:
        program.cadence = cadence.data()
    await session.flush()
    await record_audit(
        session, actor, "program.saved", "program", program.id, detail={"name": name}
    )
    return program


async def override_cadence(
    session: AsyncSession,
    client: Client,
    override: dict[str, Any] | None,
    *,
    by: Actor,
    now: datetime,
) -> None:
    """A coordinator's cadence for one client (keys of the program's cadence that replace its
    own; None goes back to the program's), recorded with who and why, and planned afresh."""
    program = await session.get(Program, client.program_id) if client.program_id else None
    checked(program.cadence if program else DEFAULT.data(), override)
    client.cadence_override = override
    client.next_checkin_at = None  # the planner plans the next touch by the new cadence
    client.updated_at = now
    assert client.id is not None
    session.add(
        CadenceChange(
            client_id=client.id,
            mode_from=client.cadence_mode,
            mode_to=client.cadence_mode,
            reason={"rule": "coordinator override", "override": override},
            staff_member_id=by.staff_member_id,
        )
    )
    await record_audit(
        session,
        by.kind,
        "client.cadence_overridden",
        "client",
        client.id,
        detail={"keys": sorted(override or {})},
        actor_id=by.id,
    )
