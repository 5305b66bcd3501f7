"""The ``aftercare`` command line: run the roles, migrate, and hand out invites."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.clients.invites import IssuedInvite, invite_client, invite_link, invite_staff
from service.columns import utcnow
from service.config import Settings, load_settings
from service.db import session_factory
from service.errors import AftercareError
from service.runtime import (
    SANDBOX_USERNAME,
    Role,
    Services,
    bot_role,
    bot_username,
    database,
    run_roles,
    sandbox,
    stop_on_signals,
    telegram_for,
    web_role,
    worker_role,
)
from service.staff.models import StaffRole

ROLES: dict[str, list[Role]] = {
    "run": [bot_role, worker_role, web_role],
    "bot": [bot_role],
    "worker": [worker_role],
    "web": [web_role],
}


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an IANA timezone such as America/New_York"
        ) from None
    return value


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 80:
        raise argparse.ArgumentTypeError("a name needs 1 to 80 characters")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="aftercare",
        description="Aftercare engagement over Telegram. Configuration comes from AFTERCARE_* "
        "variables (see the README).",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run every role in one process (and the sandbox if no token)")
    commands.add_parser("bot", help="receive updates from Telegram (one or more processes)")
    commands.add_parser("worker", help="deliver the outbox and run the periodic ticks")
    commands.add_parser("web", help="serve the console, health checks and the webhook")
    commands.add_parser("sandbox", help="run the local sandbox Bot API server alone")
    commands.add_parser("migrate", help="upgrade the database schema to the latest migration")

    invite = commands.add_parser("invite", help="create a single-use invite link")
    kinds = invite.add_subparsers(dest="kind", required=True, metavar="KIND")
    client = kinds.add_parser("client", help="invite an alumnus")
    client.add_argument("--name", required=True, type=_name, help="first name or nickname")
    client.add_argument("--tz", type=_timezone, help="IANA timezone, e.g. America/Chicago")
    client.add_argument("--lang", choices=["en", "es"], help="language of the bot's messages")
    client.add_argument("--discharge-date", type=_date, help="YYYY-MM-DD")
    client.add_argument("--coordinator", type=int, metavar="ID", help="staff member id")
    client.add_argument("--json", action="store_true", help="print {id, token, link} as JSON")
    staff = kinds.add_parser("staff", help="invite a member of the care team")
    staff.add_argument("--name", required=True, type=_name)
    staff.add_argument("--role", required=True, choices=[role.value for role in StaffRole])
    staff.add_argument("--json", action="store_true", help="print {id, token, link} as JSON")
    return root


async def _serve(settings: Settings, command: str) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    if command == "sandbox":
        async with sandbox(settings) as server:
            if server is None:
                raise AftercareError("AFTERCARE_TELEGRAM_TOKEN is set: there is no sandbox to run.")
            print(f"Sandbox Bot API: {server.base_url}", flush=True)
            await stop.wait()
        return
    migrate = command in {"run", "migrate"}
    async with (
        sandbox(settings) if command == "run" else nullcontext() as local_telegram,
        database(settings, migrate=migrate) as engine,
    ):
        if command == "migrate":
            print("The database schema is up to date.", flush=True)
            return
        services = Services(settings, engine, telegram_for(settings))
        if command in {"run", "web"}:
            print(f"Console: http://{settings.web_host}:{settings.web_port}/", flush=True)
        if local_telegram is not None:
            print(
                f"Sandbox Bot API: {local_telegram.base_url} (bot @{SANDBOX_USERNAME})",
                flush=True,
            )
        await run_roles(services, ROLES[command], stop)


async def _invite(settings: Settings, args: argparse.Namespace) -> None:
    username = await bot_username(settings)
    ttl = timedelta(days=settings.invite_ttl_days)
    async with (
        database(settings, migrate=False) as engine,
        session_factory(engine)() as session,
    ):
        issued: IssuedInvite
        if args.kind == "client":
            issued = await invite_client(
                session,
                first_name=args.name,
                timezone=args.tz or settings.default_timezone,
                language=args.lang or settings.default_language,
                discharge_date=args.discharge_date,
                coordinator_id=args.coordinator,
                ttl=ttl,
                now=utcnow(),
            )
        else:
            issued = await invite_staff(
                session, name=args.name, role=StaffRole(args.role), ttl=ttl, now=utcnow()
            )
        await session.commit()
    link = invite_link(username, issued.token)
    if args.json:
        print(json.dumps({"id": issued.subject_id, "token": issued.token, "link": link}))
    else:
        expires = issued.invite.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        print(f"{args.kind} id: {issued.subject_id}")
        print(f"token:  {issued.token}")
        print(f"link:   {link}")
        print(f"Single use; expires {expires}.")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
        if args.command == "invite":
            asyncio.run(_invite(settings, args))
        else:
            asyncio.run(_serve(settings, args.command))
    except AftercareError as exc:
        print(f"aftercare: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
