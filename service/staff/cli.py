"""`aftercare staff ...`: the care team as the alerts see it, and who is on call.

On-call staff hear of an alert the escalation ladder's ``on_call`` steps take, whatever their
role (by default a critical alert nobody acknowledged within 15 minutes).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from service.config import Settings
from service.errors import AftercareError


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="the care team: list it, and say who is on call")
    actions = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="staff members: id, role, Telegram linked, on call")
    on_call = actions.add_parser("on-call", help="put a staff member on call, or take them off")
    on_call.add_argument("staff", type=int, metavar="ID", help="staff member id")
    choice = on_call.add_mutually_exclusive_group(required=True)
    choice.add_argument("--on", dest="on_call", action="store_true", help="on call from now")
    choice.add_argument("--off", dest="on_call", action="store_false", help="off call from now")


async def run(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    import sqlalchemy as sa
    from sqlmodel import col

    from service.audit.models import ActorKind
    from service.audit.service import record_audit
    from service.db import database, session_factory
    from service.staff.models import StaffMember

    async with database(settings, migrate=False) as engine, session_factory(engine)() as session:
        if args.action == "list":
            members = await session.scalars(sa.select(StaffMember).order_by(col(StaffMember.id)))
            for listed in members:
                linked = "linked" if listed.telegram_chat_id else "not linked"
                duty = "on call" if listed.on_call else "off call"
                state = "" if listed.active else "\tinactive"
                out.write(f"{listed.id}\t{listed.name}\t{listed.role}\t{linked}\t{duty}{state}\n")
            return 0
        member = await session.get(StaffMember, args.staff, with_for_update=True)
        if member is None:
            raise AftercareError(f"There is no staff member with id {args.staff}.")
        if member.on_call != args.on_call:
            member.on_call = args.on_call
            await record_audit(
                session,
                ActorKind.cli,
                "staff.on_call" if args.on_call else "staff.off_call",
                "staff_member",
                member.id,
            )
            await session.commit()
        out.write(
            f"{member.name} (staff {member.id}) is {'on' if member.on_call else 'off'} call.\n"
        )
    return 0
