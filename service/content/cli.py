"""`aftercare templates check` and `aftercare templates preview`."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from service.config import Settings
from service.content.library import STAGES
from service.errors import AftercareError

if TYPE_CHECKING:
    from service.content.preview import Planned


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    templates = commands.add_parser("templates", help="check and preview message templates")
    actions = templates.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate template files or folders (syntax, variables, safety, limits, MI lint)",
        description="Check message templates. A file without a metadata header is checked as a "
        "bare message body against a sample client; folders are searched recursively.",
    )
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    preview = actions.add_parser(
        "preview", help="what a client (or a sample profile) would receive over the next days"
    )
    preview.add_argument("--days", type=_days, default=90, metavar="N", help="1 to 730 (90)")
    preview.add_argument("--client", type=int, metavar="ID", help="a client's id")
    preview.add_argument("--values", default="family,health", help="sample profile's values")
    preview.add_argument("--lang", choices=["en", "es"], default="en", help="sample's language")
    preview.add_argument("--stage", choices=STAGES, help="sample's stage of change")
    preview.add_argument("--start", type=date.fromisoformat, help="first day (default today)")
    preview.add_argument("--json", action="store_true", help="one JSON object per message")


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 730:
        raise argparse.ArgumentTypeError("a number of days from 1 to 730")
    return int(value)


def check(paths: list[Path]) -> int:
    from service.content.check import check_files
    from service.content.library import template_files

    missing = [path for path in paths if not path.exists()]
    if missing:
        raise AftercareError(f"No such file or folder: {', '.join(map(str, missing))}")
    results = check_files(template_files(paths))
    problems = 0
    for path, found in results.items():
        for problem in found:
            problems += 1
            print(f"{path}:{problem.line}: {problem.kind}: {problem.message}")
    print(f"{len(results)} template(s) checked, {problems} problem(s).")
    return 1 if problems else 0


async def preview(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from service.content.compose import ClientFacts
    from service.content.library import VALUES, load
    from service.content.preview import preview as plan
    from service.content.service import SEED
    from service.content.tailoring import Profile

    if args.client is not None:
        planned = await _client_preview(settings, args.client, args.days, args.start)
    else:
        start = args.start or date.today()  # noqa: DTZ011 (the operator's calendar)
        values = tuple(value.strip() for value in args.values.split(",") if value.strip())
        unknown = [value for value in values if value not in VALUES]
        if unknown:
            raise AftercareError(f"Unknown values {', '.join(unknown)}; known: {', '.join(VALUES)}")
        name = "Alex" if args.lang == "en" else "Ana"
        planned = plan(
            load(SEED),
            Profile(0, args.lang, values, args.stage),
            ClientFacts(name, args.lang, {}, start - timedelta(days=1), None),
            discharge_date=start,
            start=start,
            days=args.days,
        )
    for item in planned:
        if args.json:
            print(json.dumps({**item.__dict__, "on": item.on.isoformat()}, ensure_ascii=False))
        else:
            print(f"{item.on}  {item.category}  [{item.template_id}]\n  {item.text}\n")
    return 0


async def _client_preview(
    settings: Settings, client_id: int, days: int, start: date | None
) -> list[Planned]:
    """A real client's coming days, as the console's preview shows them."""
    from service.clients.actions import upcoming
    from service.clients.models import Client
    from service.columns import utcnow
    from service.db import database, session_factory

    async with (
        database(settings, migrate=False) as engine,
        session_factory(engine)() as session,
    ):
        client = await session.get(Client, client_id)
        if client is None:
            raise AftercareError(f"There is no client with id {client_id}.")
        return await upcoming(session, client, now=utcnow(), days=days, start=start)
