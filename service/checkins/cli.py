"""`aftercare programs ...` and `aftercare cadence ...`: programs' cadences, and one client's."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import AftercareError, InvalidCadence


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    programs = commands.add_parser("programs", help="list, show and set programs' cadences")
    actions = programs.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the programs and how many clients each has")
    show = actions.add_parser("show", help="a program's cadence as JSON")
    show.add_argument("name")
    set_ = actions.add_parser("set", help="create or replace a program's cadence from JSON")
    set_.add_argument("name")
    set_.add_argument("file", type=Path, help="a JSON file, or - for standard input")
    cadence = commands.add_parser(
        "cadence", help="override one client's cadence (keys of the program's that replace them)"
    )
    cadence.add_argument("client", type=int, metavar="CLIENT_ID")
    choice = cadence.add_mutually_exclusive_group(required=True)
    choice.add_argument("--set", metavar="JSON", help="e.g. '{\"follow_up_after_hours\": 3}'")
    choice.add_argument("--clear", action="store_true", help="back to the program's cadence")
    cadence.add_argument("--staff", type=int, metavar="ID", help="the coordinator deciding it")


def _json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCadence(f"{where} is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InvalidCadence(f"{where} must be a JSON object")
    return data


async def run(settings: Settings, args: argparse.Namespace) -> int:
    import sqlalchemy as sa
    from sqlmodel import col

    from service.audit.models import ActorKind
    from service.audit.service import Actor
    from service.checkins.programs import override_cadence, save_program
    from service.clients.models import Client, Program
    from service.columns import utcnow
    from service.db import database, session_factory

    async with database(settings, migrate=False) as engine, session_factory(engine)() as session:
        if args.command == "cadence":
            client = await session.get(Client, args.client)
            if client is None:
                raise AftercareError(f"There is no client with id {args.client}.")
            override = None if args.clear else _json(args.set, "--set")
            by = Actor(ActorKind.cli, staff_member_id=args.staff)
            await override_cadence(session, client, override, by=by, now=utcnow())
            await session.commit()
            state = "its own cadence" if override else "the program's cadence"
            print(f"Client {client.code}: {state}, from its next check-in.")
        elif args.action == "list":
            counts = sa.select(sa.func.count()).where(col(Client.program_id) == col(Program.id))
            rows = await session.execute(
                sa.select(col(Program.name), counts.scalar_subquery()).order_by(col(Program.name))
            )
            for name, clients in rows:
                print(f"{name}\t{clients} clients")
        elif args.action == "show":
            program = await session.scalar(sa.select(Program).where(col(Program.name) == args.name))
            if program is None:
                raise AftercareError(f"There is no program named {args.name!r}.")
            print(json.dumps(program.cadence, indent=2))
        else:
            source = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
            await save_program(
                session, args.name, _json(source, str(args.file)), actor=ActorKind.cli
            )
            await session.commit()
            print(f"Program {args.name!r} saved.")
    return 0
