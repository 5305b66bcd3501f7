"""The escalation tick: alerts nobody acknowledged in time climb the ladder.

Each tick claims due alerts (open, ``next_escalation_at`` passed) in batches with ``FOR NO KEY
UPDATE SKIP LOCKED``, so any number of workers share them and no step is taken twice. For each
alert it takes every step that has come (several, after the workers were down): the step's
audience gets the escalation message with the alert's buttons, an ``escalated`` event records
each person told, and the alert's level and next step time advance, all in the batch's
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.ladder import Audience, Step
from service.alerts.models import Alert, AlertStatus
from service.alerts.service import Recipient, notify, quote_of_alert
from service.clients.models import Client
from service.columns import utcnow
from service.content.service import Messaging
from service.signals.models import Severity
from service.staff.models import StaffMember, StaffRole

log = logging.getLogger(__name__)

BATCH = 100


def audience(step: Step, staff: Sequence[StaffMember]) -> list[StaffMember]:
    """Who a step tells, of the active staff with Telegram linked."""
    if step.to is Audience.supervisors:
        return [member for member in staff if member.role == StaffRole.supervisor]
    return [member for member in staff if member.on_call]


class Escalator:
    """The ``escalate`` tick. ``clock`` is the time it acts at (tests move it on)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messaging: Messaging,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = BATCH,
    ) -> None:
        self.sessions = sessions
        self.messaging = messaging
        self.clock = clock
        self.batch = batch

    async def escalate(self) -> int:
        """One tick: every due alert, batch after batch. Returns the steps taken."""
        taken = 0
        while True:
            claimed, steps = await self.escalate_batch()
            taken += steps
            if claimed < self.batch:
                return taken

    async def escalate_batch(self) -> tuple[int, int]:
        """One batch in one transaction: (alerts claimed, steps taken)."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            alerts = (
                await session.scalars(
                    sa.select(Alert)
                    .where(
                        col(Alert.status) == AlertStatus.open,
                        col(Alert.next_escalation_at) <= now,
                    )
                    .order_by(col(Alert.next_escalation_at))
                    .limit(self.batch)
                    # NO KEY UPDATE: not held up by an event being added to the alert (its
                    # foreign key takes KEY SHARE), only by another worker's claim
                    .with_for_update(skip_locked=True, key_share=True)
                )
            ).all()
            if not alerts:
                return 0, 0
            client_ids = {alert.client_id for alert in alerts}
            clients = {
                client.id: client
                for client in await session.scalars(
                    sa.select(Client).where(col(Client.id).in_(client_ids))
                )
            }
            staff = (
                await session.scalars(
                    sa.select(StaffMember)
                    .where(
                        col(StaffMember.active),
                        col(StaffMember.telegram_chat_id).is_not(None),
                        sa.or_(
                            col(StaffMember.role) == StaffRole.supervisor,
                            col(StaffMember.on_call),
                        ),
                    )
                    .order_by(col(StaffMember.id))
                )
            ).all()
            steps = 0
            for alert in alerts:
                steps += await self._climb(session, alert, clients[alert.client_id], staff, now)
            return len(alerts), steps

    async def _climb(
        self,
        session: AsyncSession,
        alert: Alert,
        client: Client,
        staff: Sequence[StaffMember],
        now: datetime,
    ) -> int:
        """Take the alert's steps that have come; the number taken."""
        assert alert.id is not None
        routing = self.messaging.alerts
        severity = Severity(alert.severity).value
        ladder = routing.ladder.steps_for(severity)
        started = alert.escalation_started_at or alert.opened_at
        quote = await quote_of_alert(session, alert.id) if routing.message_text else None
        taken = 0
        while alert.next_escalation_at is not None and alert.next_escalation_at <= now:
            if alert.escalation_level >= len(ladder):  # the ladder was shortened meanwhile
                alert.next_escalation_at = None
                break
            step = ladder[alert.escalation_level]
            level = alert.escalation_level + 1
            people = [
                Recipient(member.telegram_chat_id, member.language, member, step.to.value)
                for member in audience(step, staff)
                if member.telegram_chat_id is not None
            ]
            await notify(
                session,
                self.messaging,
                client,
                alert,
                people,
                now=now,
                quote=quote,
                escalation=level,
                meant_for=step.to.value,
            )
            alert.escalation_level = level
            alert.next_escalation_at = routing.ladder.due(severity, level, started, routing.zone)
            taken += 1
        return taken
