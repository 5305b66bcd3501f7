"""`aftercare staff`: who is on call (the escalation ladder's on_call steps tell them), set from
the command line and recorded in the audit log."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.audit.models import AuditEntry
from service.clients.invites import invite_staff
from service.columns import utcnow
from service.config import Settings
from service.errors import AftercareError
from service.staff import cli
from service.staff.models import StaffMember, StaffRole


def parse(*argv: str) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="aftercare")
    cli.add_parser(root.add_subparsers(dest="command", required=True))
    return root.parse_args(argv)


async def staff(settings: Settings, *argv: str) -> str:
    out = io.StringIO()
    assert await cli.run(settings, parse("staff", *argv), out) == 0
    return out.getvalue()


async def test_on_call_is_set_and_cleared_and_audited(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        issued = await invite_staff(
            session, name="Noor", role=StaffRole.coordinator, ttl=timedelta(days=1), now=utcnow()
        )
        await session.commit()
    member_id = issued.subject_id

    assert await staff(settings, "list") == (
        f"{member_id}\tNoor\tcoordinator\tnot linked\toff call\n"
    )
    said = await staff(settings, "on-call", str(member_id), "--on")
    assert said == f"Noor (staff {member_id}) is on call.\n"
    assert "\ton call\n" in await staff(settings, "list")
    await staff(settings, "on-call", str(member_id), "--on")  # already: nothing to record
    await staff(settings, "on-call", str(member_id), "--off")

    async with sessions() as session:
        member = await session.get(StaffMember, member_id)
        actions = (
            await session.scalars(
                sa.select(AuditEntry.action)  # type: ignore[call-overload]
                .where(col(AuditEntry.subject_type) == "staff_member")
                .order_by(col(AuditEntry.id))
            )
        ).all()
    assert member is not None and not member.on_call
    assert actions == ["invite.created", "staff.on_call", "staff.off_call"]


async def test_an_unknown_staff_member_is_one_clear_error(settings: Settings) -> None:
    with pytest.raises(AftercareError, match="no staff member with id 4040"):
        await cli.run(settings, parse("staff", "on-call", "4040", "--off"), io.StringIO())


def test_on_or_off_must_be_said() -> None:
    with pytest.raises(SystemExit):
        parse("staff", "on-call", "1")
    with pytest.raises(SystemExit):
        parse("staff", "on-call", "1", "--on", "--off")
