"""Writing the audit log, inside the transaction of the change it records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import ActorKind, AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log records it: the command line, the client
    themselves, or a console user (with the staff member they are, if any)."""

    kind: ActorKind
    id: int | None = None
    staff_member_id: int | None = None


CLI = Actor(ActorKind.cli)


async def record_audit(
    session: AsyncSession,
    actor_kind: ActorKind,
    action: str,
    subject_type: str,
    subject_id: int | str | None,
    *,
    detail: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> None:
    """Add an audit entry. ``detail`` holds ids and categories, never message text."""
    session.add(
        AuditEntry(
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            detail=detail or {},
        )
    )
