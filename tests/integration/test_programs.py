"""Programs are data: seeded, edited (never into an invalid cadence), followed by the planner; a
coordinator can give one client a cadence of their own, and every change records who and why."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.audit.models import ActorKind
from service.audit.service import CLI
from service.checkins.cadence import DEFAULT
from service.checkins.models import CadenceChange, Checkin
from service.checkins.programs import STANDARD, override_cadence, save_program
from service.clients.invites import invite_client
from service.clients.models import Client, Program
from service.errors import InvalidCadence
from tests.integration.test_cli import aftercare
from tests.integration.test_planner import NOW, add_clients, planner

WEEKLY_ONLY = {"phases": [{"days": "mon", "mix": ["checkin"]}]}  # NOW is a Thursday


async def test_new_clients_join_the_standard_program_seeded_with_the_default_cadence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        issued = await invite_client(
            session, first_name="Ana", timezone="UTC", language="es", ttl=timedelta(days=1), now=NOW
        )
        client = await session.get(Client, issued.subject_id)
        assert client is not None and client.program_id is not None
        program = await session.get(Program, client.program_id)
    assert program is not None
    assert (program.name, program.cadence) == (STANDARD, DEFAULT.data())


async def test_the_planner_follows_an_edited_program(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        program = await save_program(session, "weekly", WEEKLY_ONLY, actor=ActorKind.cli)
        await session.commit()
    await add_clients(sessions, 1, program_id=program.id)
    await planner(sessions, NOW).plan()
    async with sessions() as session:
        assert (await session.scalars(sa.select(Checkin))).all() == []  # not a Monday
        client = await session.scalar(sa.select(Client))
    assert client is not None and client.next_checkin_at is not None
    assert client.next_checkin_at.weekday() == 0


async def test_an_invalid_program_is_refused_and_the_old_one_stays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(InvalidCadence, match=r"phases\.0\.days"):
            await save_program(
                session,
                STANDARD,
                {"phases": [{"days": "fortnightly", "mix": ["checkin"]}]},
                actor=ActorKind.cli,
            )
        program = await session.scalar(sa.select(Program).where(col(Program.name) == STANDARD))
    assert program is not None and program.cadence == DEFAULT.data()


async def test_a_coordinators_override_is_recorded_and_planned_afresh(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [client_id] = await add_clients(sessions, 1)
    async with sessions() as session:
        client = await session.get(Client, client_id)
        assert client is not None
        with pytest.raises(InvalidCadence, match="follow_up_after_hours"):
            await override_cadence(session, client, {"follow_up_after_hours": -1}, by=CLI, now=NOW)
        await override_cadence(session, client, WEEKLY_ONLY, by=CLI, now=NOW)
        await session.commit()
    [change] = await _changes(sessions)
    assert change.reason == {"rule": "coordinator override", "override": WEEKLY_ONLY}
    await planner(sessions, NOW).plan()
    async with sessions() as session:
        client = await session.get(Client, client_id)
    assert client is not None and client.next_checkin_at is not None
    assert client.next_checkin_at.weekday() == 0  # the client's own cadence: Mondays


async def _changes(sessions: async_sessionmaker[AsyncSession]) -> list[CadenceChange]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(CadenceChange)))


def test_programs_and_overrides_from_the_command_line(database_url: URL) -> None:
    env = {"AFTERCARE_DATABASE_URL": database_url.render_as_string(hide_password=False)}
    cadence = json.dumps(WEEKLY_ONLY)
    bad = aftercare("programs", "set", "weekly", "-", input='{"phases": []}', **env)
    assert bad.returncode == 1 and bad.stderr.startswith("aftercare: The cadence is not valid")
    saved = aftercare("programs", "set", "weekly", "-", input=cadence, **env)
    assert saved.returncode == 0, saved.stderr
    listed = aftercare("programs", "list", **env)
    assert listed.stdout.splitlines() == ["standard\t0 clients", "weekly\t0 clients"]
    shown = aftercare("programs", "show", "weekly", **env)
    assert json.loads(shown.stdout)["phases"][0]["days"] == "mon"
    invited = aftercare("invite", "client", "--name", "Kim", "--json", **env)
    client_id = json.loads(invited.stdout)["id"]
    overridden = aftercare("cadence", str(client_id), "--set", '{"missed_for_signal": 2}', **env)
    assert overridden.returncode == 0, overridden.stderr
    missing = aftercare("cadence", "999", "--clear", **env)
    assert (missing.returncode, missing.stderr) == (
        1,
        "aftercare: There is no client with id 999.\n",
    )
