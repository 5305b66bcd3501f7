"""The ``aftercare`` command line: run the roles, migrate, and hand out invites."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.checkins import cli as cadence_cli
from service.clients import cli as clients_cli
from service.config import Settings, load_settings
from service.console import cli as users_cli
from service.content import cli as content_cli
from service.errors import AftercareError
from service.logs import configure_logging
from service.staff import cli as staff_cli

# Heavy modules (aiogram, SQLAlchemy, FastAPI) are imported by the commands that use them, so that
# `--help` and a configuration error answer at once.
ROLES = {"run": ("bot", "worker", "web"), "bot": ("bot",), "worker": ("worker",), "web": ("web",)}
STAFF_ROLES = ("coordinator", "supervisor", "admin")


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
    commands.add_parser("bot", help="receive updates from Telegram (long polling, or the webhook)")
    commands.add_parser("worker", help="plan check-ins and deliver the outbox to Telegram")
    commands.add_parser("web", help="serve the web console and the health checks")
    sandbox = commands.add_parser(
        "sandbox",
        help="the local sandbox Bot API: serve it alone, or chat with the bot as an alumnus",
        usage="%(prog)s [-h] [ACTION]",
        description="With no ACTION, serve the sandbox Bot API alone (as `sandbox serve`).",
    )
    actions = sandbox.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("serve", help="run the local sandbox Bot API server alone (the default)")
    chat = actions.add_parser(
        "chat",
        help="talk to the bot in a running sandbox as a Telegram user, from this terminal",
        description="Talk to the bot as a Telegram user of the sandbox that `aftercare run` "
        "started. Type :help in the chat for buttons, stickers and the rest.",
    )
    chat.add_argument("--user", required=True, type=int, metavar="ID", help="Telegram user id")
    chat.add_argument("--name", type=_name, help="the user's first name in Telegram")
    chat.add_argument("--lang", choices=["en", "es"], help="the user's Telegram language")
    chat.add_argument(
        "--url", help="the sandbox's address (default: http://127.0.0.1:AFTERCARE_SANDBOX_PORT)"
    )
    commands.add_parser("migrate", help="upgrade the database schema to the latest migration")

    content_cli.add_parser(commands)
    cadence_cli.add_parser(commands)
    staff_cli.add_parser(commands)
    users_cli.add_parser(commands)
    clients_cli.add_parser(commands)

    classify = commands.add_parser(
        "classify",
        help="what the signals classifier finds in messages: risk, talk type (JSON lines)",
        description="Read one message per line on stdin (with --jsonl, JSON objects with "
        '"text" and an optional "lang"); write one JSON object per message: its text, the '
        "signals found (kind, severity, evidence) and the talk type. Blank lines are skipped; a "
        "bad JSON line is reported on stderr with its number and skipped (the exit status is "
        "then 1). Needs no database.",
    )
    classify.add_argument(
        "--lang", choices=["en", "es"], help="the messages' language (default: try both)"
    )
    classify.add_argument(
        "--jsonl", action="store_true", help='read JSON lines: {"text": ..., "lang": ...}'
    )
    classify.add_argument(
        "--lexicons",
        type=Path,
        metavar="DIR",
        help="a directory of extra lexicon files (*.toml) merged over the shipped ones",
    )

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
    staff.add_argument("--role", required=True, choices=STAFF_ROLES)
    staff.add_argument("--json", action="store_true", help="print {id, token, link} as JSON")
    return root


def _classify(settings: Settings, args: argparse.Namespace) -> int:
    """``aftercare classify``: stdin to stdout, UTF-8 whatever the locale. The deployment's
    lexicons (AFTERCARE_LEXICONS) apply unless ``--lexicons`` names others."""
    from service.signals.classifier import classifier_for

    classifier = classifier_for(args.lexicons or settings.lexicons)
    bad = 0
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line.strip():
            continue
        text, lang = line, args.lang
        if args.jsonl:
            try:
                text, lang = _json_message(line, args.lang)
            except ValueError as exc:
                print(f"aftercare classify: line {number}: {exc}", file=sys.stderr)
                bad += 1
                continue
        reading = classifier.classify(text, lang)
        out = json.dumps(reading.as_json(text), ensure_ascii=False) + "\n"
        sys.stdout.buffer.write(out.encode("utf-8"))
    sys.stdout.flush()
    return 1 if bad else 0


def _json_message(line: str, default_lang: str | None) -> tuple[str, str | None]:
    """The text and language of one JSON line; ``ValueError`` says what is wrong with it."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ValueError('needs a JSON object with a "text" string')
    lang = item.get("lang", default_lang)
    if lang is not None and not isinstance(lang, str):
        raise ValueError('"lang" must be a string such as "en" or "es"')
    return item["text"], lang


async def _serve(settings: Settings, command: str) -> None:
    """Run roles until SIGINT or SIGTERM; ``run`` also migrates and starts the sandbox."""
    from service.db import database
    from service.runtime import Services, run_roles, sandbox, settle_heap, stop_on_signals
    from service.telegram import telegram_for

    stop = asyncio.Event()
    stop_on_signals(stop)
    async with (
        sandbox(settings) if command in {"run", "sandbox"} else nullcontext() as local_telegram,
    ):
        if local_telegram is not None:
            print(f"Sandbox Bot API: {local_telegram.base_url}", flush=True)
        if command == "sandbox":
            if local_telegram is None:
                raise AftercareError("AFTERCARE_TELEGRAM_TOKEN is set: there is no sandbox to run.")
            await stop.wait()
            return
        async with database(settings, migrate=command == "run") as engine:
            if command in {"run", "web"}:
                print(f"Console: http://{settings.web_host}:{settings.web_port}/", flush=True)
            services = Services(settings, engine, telegram_for(settings))
            settle_heap()
            await run_roles(services, ROLES[command], stop)


async def _migrate(settings: Settings) -> None:
    from service.db import database

    async with database(settings, migrate=True):
        print("The database schema is at the latest migration.")


async def _invite(settings: Settings, args: argparse.Namespace) -> None:
    from service.clients.invites import IssuedInvite, invite_client, invite_link, invite_staff
    from service.columns import utcnow
    from service.db import database, session_factory
    from service.staff.models import StaffRole
    from service.telegram import bot_username

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
        configure_logging(settings.log_level, settings.log_format)
        return _dispatch(settings, args)
    except AftercareError as exc:
        print(f"aftercare: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# Commands whose module runs them against the database, returning the exit status.
ADMIN_COMMANDS = {
    "programs": cadence_cli.run,
    "cadence": cadence_cli.run,
    "staff": staff_cli.run,
    "users": users_cli.run,
    "clients": clients_cli.run,
}


def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "templates" and args.action == "check":
        return content_cli.check(args.paths)
    if args.command == "templates":
        return asyncio.run(content_cli.preview(settings, args))
    if args.command in ADMIN_COMMANDS:
        return asyncio.run(ADMIN_COMMANDS[args.command](settings, args))
    if args.command == "classify":
        return _classify(settings, args)
    if args.command == "sandbox" and args.action == "chat":
        from service.sandbox.chat import run as chat

        url = args.url or f"http://127.0.0.1:{settings.sandbox_port}"
        return chat(url, args.user, args.name, args.lang)
    if args.command == "invite":
        asyncio.run(_invite(settings, args))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    else:
        asyncio.run(_serve(settings, args.command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
