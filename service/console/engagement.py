"""Engagement figures for the console: how often alumni answer, week by week after discharge;
how many are in each state; and how fast the care team acknowledges alerts of each kind.

Each figure is one aggregate query (the database does the counting, however many check-ins
there are), limited to the clients the caller may see: ``visible`` is an SQL condition on
``Client``, such as ``service.web.console.visible_clients``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert
from service.checkins.models import Checkin, CheckinStatus
from service.clients.models import Client, ClientState

LAST_WEEK = 26  # weeks since discharge are counted 0 to 25, and 26 or later together
UNREACHABLE = "unreachable"  # not a state: a client of any state who blocked the bot
STATES = tuple(state for state in ClientState if state is not ClientState.erased)


@dataclass(frozen=True)
class WeekResponse:
    """Check-ins sent in the period to clients in their ``week``-th week after discharge (the
    last week also counts every later one), and how many of them were answered."""

    week: int
    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        """Answered over sent; None when nothing was sent."""
        return self.answered / self.sent if self.sent else None

    @property
    def and_later(self) -> bool:
        return self.week == LAST_WEEK


@dataclass(frozen=True)
class StateCount:
    """Clients in a state now; ``state`` is a ``ClientState`` value or ``UNREACHABLE``."""

    state: str
    clients: int


@dataclass(frozen=True)
class AlertKindFigures:
    """Alerts of a kind opened in the period: how many, how many the team has acknowledged
    (or resolved straight away), and the median and 90th percentile of the time that took."""

    kind: str  # a SignalKind value, kept as text so that a kind this version lacks still shows
    alerts: int
    acknowledged: int
    median: timedelta | None
    p90: timedelta | None

    @property
    def unacknowledged(self) -> int:
        return self.alerts - self.acknowledged


@dataclass(frozen=True)
class Engagement:
    since: datetime
    until: datetime
    weeks: list[WeekResponse]
    states: list[StateCount]
    alerts: list[AlertKindFigures]


async def engagement(
    session: AsyncSession, visible: sa.ColumnElement[bool], *, now: datetime, days: int
) -> Engagement:
    """The figures of the last ``days`` days up to ``now`` (states: as they are now)."""
    since = now - timedelta(days=days)
    return Engagement(
        since=since,
        until=now,
        weeks=await response_by_week(session, visible, since=since, until=now),
        states=await state_counts(session, visible),
        alerts=await alerts_by_kind(session, visible, since=since, until=now),
    )


async def response_by_week(
    session: AsyncSession, visible: sa.ColumnElement[bool], *, since: datetime, until: datetime
) -> list[WeekResponse]:
    """Check-ins sent between ``since`` and ``until`` by week since the client's discharge (or,
    without a discharge date, since their record was made, on their calendar): weeks 0 to
    ``LAST_WEEK``, every one listed, empty or not. A check-in cancelled after it was sent
    (the client paused or stopped) does not count; one dated before discharge neither."""
    start = sa.func.coalesce(
        col(Client.discharge_date),
        sa.cast(sa.func.timezone(col(Client.timezone), col(Client.created_at)), sa.Date),
    )
    days_after = col(Checkin.local_date) - start
    sent = (
        sa.select(
            sa.func.least(days_after // 7, LAST_WEEK).label("week"),
            col(Checkin.answered_at).label("answered_at"),
        )
        .join(Client, col(Client.id) == col(Checkin.client_id))
        .where(
            col(Checkin.sent_at) >= since,
            col(Checkin.sent_at) < until,
            col(Checkin.status) != CheckinStatus.cancelled,
            days_after >= 0,
            visible,
        )
        .subquery()
    )
    rows = await session.execute(
        sa.select(sent.c.week, sa.func.count(), sa.func.count(sent.c.answered_at)).group_by(
            sent.c.week
        )
    )
    counted = {int(w): (int(sent), int(answered)) for w, sent, answered in rows}
    return [WeekResponse(w, *counted.get(w, (0, 0))) for w in range(LAST_WEEK + 1)]


async def state_counts(session: AsyncSession, visible: sa.ColumnElement[bool]) -> list[StateCount]:
    """Clients in each state (erased ones aside), then those unreachable whatever their state."""
    rows = await session.execute(
        sa.select(
            col(Client.state),
            sa.func.count(),
            sa.func.count(col(Client.unreachable_since)),
        )
        .where(col(Client.state) != ClientState.erased, visible)
        .group_by(col(Client.state))
    )
    by_state: dict[str, int] = {}
    unreachable = 0
    for state, clients, blocked in rows:
        by_state[str(state)] = int(clients)
        unreachable += int(blocked)
    return [StateCount(state.value, by_state.get(state.value, 0)) for state in STATES] + [
        StateCount(UNREACHABLE, unreachable)
    ]


async def alerts_by_kind(
    session: AsyncSession, visible: sa.ColumnElement[bool], *, since: datetime, until: datetime
) -> list[AlertKindFigures]:
    """Alerts opened between ``since`` and ``until``, by kind (most frequent first). An alert
    is acknowledged when someone acknowledged it, or resolved it without doing so first; an
    alert that rose in severity after it was acknowledged is open again until acknowledged
    again, and counts from its opening."""
    seen_at = sa.func.coalesce(col(Alert.acknowledged_at), col(Alert.resolved_at))
    waited = sa.func.extract("epoch", seen_at - col(Alert.opened_at))  # NULL: not yet seen
    kind = sa.cast(col(Alert.kind), sa.Text).label("kind")
    alerts = sa.func.count().label("alerts")
    rows = await session.execute(
        sa.select(
            kind,
            alerts,
            sa.func.count(seen_at),
            sa.func.percentile_cont(0.5).within_group(waited),
            sa.func.percentile_cont(0.9).within_group(waited),
        )
        .select_from(Alert)
        .join(Client, col(Client.id) == col(Alert.client_id))
        .where(col(Alert.opened_at) >= since, col(Alert.opened_at) < until, visible)
        .group_by(kind)
        .order_by(alerts.desc(), kind)
    )
    return [
        AlertKindFigures(
            kind=str(name),
            alerts=int(count),
            acknowledged=int(acknowledged),
            median=_seconds(median),
            p90=_seconds(p90),
        )
        for name, count, acknowledged, median, p90 in rows
    ]


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=float(value))
