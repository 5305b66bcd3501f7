"""`aftercare users ...`: who may sign in to the web console, with which role.

Passwords are typed twice at a hidden prompt, or read from standard input with
``--password-stdin`` (one line), never taken as an argument (it would sit in the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from service.config import Settings
from service.errors import AftercareError

ROLES = ("admin", "coordinator", "viewer")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="console users: create, list, password, disable")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="a console user (asks for the password twice; 12 characters or more)",
    )
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument(
        "--staff", type=int, metavar="ID", help="their staff member (a coordinator's clients)"
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    actions.add_parser("list", help="console users: id, email, role, state, staff, last sign-in")
    password = actions.add_parser(
        "password", help="set a user's password (asks twice); ends their sessions"
    )
    password.add_argument("email")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    disable = actions.add_parser("disable", help="stop a user signing in; ends their sessions")
    disable.add_argument("email")


def read_password(use_stdin: bool, stdin: TextIO) -> str:
    if use_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12 characters or more): ")
    if getpass.getpass("The same password again: ") != first:
        raise AftercareError("The two passwords differ; nothing was changed.")
    return first


async def run(
    settings: Settings,
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> int:
    import sqlalchemy as sa
    from sqlmodel import col

    from service.console.accounts import create_user, disable_user, reset_password
    from service.console.passwords import check_strength
    from service.db import database, session_factory
    from service.staff.models import ConsoleRole, ConsoleUser

    password = ""
    if args.action in {"create", "password"}:
        password = read_password(args.password_stdin, stdin)
        check_strength(password)  # before connecting: a short password is refused at once
    async with database(settings, migrate=False) as engine, session_factory(engine)() as session:
        if args.action == "create":
            user = await create_user(
                session,
                email=args.email,
                role=ConsoleRole(args.role),
                password=password,
                staff_member_id=args.staff,
            )
            out.write(f"Console user {user.id} ({user.email}, {user.role}) created.\n")
        elif args.action == "list":
            users = await session.scalars(sa.select(ConsoleUser).order_by(col(ConsoleUser.id)))
            for listed in users:
                state = "active" if listed.active else "disabled"
                staff = f"staff {listed.staff_member_id}" if listed.staff_member_id else "-"
                last = (
                    listed.last_login_at.strftime("%Y-%m-%d %H:%M UTC")
                    if listed.last_login_at
                    else "never signed in"
                )
                out.write(f"{listed.id}\t{listed.email}\t{listed.role}\t{state}\t{staff}\t{last}\n")
        elif args.action == "password":
            user = await reset_password(session, args.email, password)
            out.write(f"Console user {user.id} ({user.email}) has a new password.\n")
        else:
            user = await disable_user(session, args.email)
            out.write(f"Console user {user.id} ({user.email}) is disabled.\n")
    return 0
