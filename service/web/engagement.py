"""Engagement: response rate by week since discharge, client states, alerts, time to acknowledge.

``GET /console/engagement`` shows the figures of a period (``?days=``) with charts drawn on the
server as inline SVG, each followed by a table of the same numbers; ``GET
/console/engagement.csv?table=response|states|alerts`` downloads one table. Coordinators see
their own clients' figures only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from service.clients.models import ClientState
from service.console.engagement import (
    UNREACHABLE,
    AlertKindFigures,
    StateCount,
    WeekResponse,
    alerts_by_kind,
    engagement,
    response_by_week,
    state_counts,
)
from service.signals.models import SignalKind
from service.staff.models import ConsoleRole
from service.web.console import Database, Viewer, audit, console_of, private, visible_clients

PERIODS = (30, 90, 180, 365)  # days
DEFAULT_DAYS = 90
TABLES = ("response", "states", "alerts")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets take for a formula

STATE_LABELS = {
    ClientState.invited.value: "Invited (link not used yet)",
    ClientState.consent_pending.value: "Waiting for consent",
    ClientState.onboarding.value: "Onboarding",
    ClientState.active.value: "Active",
    ClientState.paused.value: "Paused",
    ClientState.opted_out.value: "Opted out",
    UNREACHABLE: "Unreachable (blocked the bot)",
}
KIND_LABELS = {
    SignalKind.self_harm.value: "Self-harm",
    SignalKind.overdose.value: "Overdose",
    SignalKind.relapse.value: "Relapse",
    SignalKind.craving.value: "Craving",
    SignalKind.help_request.value: "Asked for help",
    SignalKind.sustain_talk.value: "Sustain talk",
    SignalKind.change_talk.value: "Change talk",
    SignalKind.low_scale.value: "Low rating",
    SignalKind.silence.value: "Missed check-ins",
    SignalKind.sos.value: "/sos",
}

router = APIRouter()


@router.get("/console/engagement", response_class=HTMLResponse)
async def engagement_page(
    request: Request, session: Database, viewer: Viewer, days: int = DEFAULT_DAYS
) -> Response:
    days = _period(days)
    now = console_of(request).config.clock()
    figures = await engagement(session, visible_clients(viewer), now=now, days=days)
    return console_of(request).render(
        request,
        "engagement.html",
        {
            "figures": figures,
            "days": days,
            "periods": PERIODS,
            "own_only": viewer.role is ConsoleRole.coordinator,
            "response_chart": response_chart(figures.weeks),
            "alerts_chart": alerts_chart(figures.alerts),
            "state_label": state_label,
            "kind_label": kind_label,
            "percent": percent,
            "duration": duration,
        },
    )


@router.get("/console/engagement.csv")
async def engagement_csv(
    request: Request,
    session: Database,
    viewer: Viewer,
    table: str = "response",
    days: int = DEFAULT_DAYS,
) -> Response:
    """One of the page's tables as CSV, for a spreadsheet."""
    if table not in TABLES:
        return private(PlainTextResponse(f"table is one of {', '.join(TABLES)}.", status_code=404))
    days = _period(days)
    until = console_of(request).config.clock()
    since, mine = until - timedelta(days=days), visible_clients(viewer)
    if table == "response":
        rows = response_rows(await response_by_week(session, mine, since=since, until=until))
    elif table == "states":
        rows = state_rows(await state_counts(session, mine))
    else:
        rows = alert_rows(await alerts_by_kind(session, mine, since=since, until=until))
    await audit(session, viewer, "engagement.exported", "engagement", None, table=table, days=days)
    await session.commit()
    day = until.date().isoformat()
    response = Response(to_csv(rows), media_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="engagement-{table}-{days}d-{day}.csv"'
    )
    return private(response)


def _period(days: int) -> int:
    return days if days in PERIODS else DEFAULT_DAYS


# --- words and numbers ---------------------------------------------------------------------


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def week_label(week: WeekResponse) -> str:
    return f"{week.week}+" if week.and_later else str(week.week)


def percent(rate: float | None) -> str:
    """``0.6667`` as ``66.7%``; nothing sent, ``-``."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def duration(span: timedelta | None) -> str:
    """A time to acknowledge as a person reads it: ``45 s``, ``12 min``, ``3 h 5 min``,
    ``2 d 4 h``; none, ``-``."""
    if span is None:
        return "-"
    seconds = round(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _minutes(span: timedelta | None) -> str:
    return "" if span is None else f"{span.total_seconds() / 60:.1f}"


# --- CSV -----------------------------------------------------------------------------------

Rows = list[list[str]]


def response_rows(weeks: Sequence[WeekResponse]) -> Rows:
    return [["weeks_since_discharge", "sent", "answered", "response_rate_percent"]] + [
        [
            week_label(week),
            str(week.sent),
            str(week.answered),
            "" if week.rate is None else f"{week.rate * 100:.1f}",
        ]
        for week in weeks
    ]


def state_rows(states: Sequence[StateCount]) -> Rows:
    return [["state", "clients"]] + [[count.state, str(count.clients)] for count in states]


def alert_rows(alerts: Sequence[AlertKindFigures]) -> Rows:
    header = [
        "kind",
        "alerts",
        "acknowledged",
        "unacknowledged",
        "median_minutes_to_acknowledge",
        "p90_minutes_to_acknowledge",
    ]
    return [header] + [
        [
            kind.kind,
            str(kind.alerts),
            str(kind.acknowledged),
            str(kind.unacknowledged),
            _minutes(kind.median),
            _minutes(kind.p90),
        ]
        for kind in alerts
    ]


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a quote first
    (OWASP's advice against CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def to_csv(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()


# --- charts --------------------------------------------------------------------------------

WIDTH = 560  # the SVG's own units; it scales to the page's width
LEFT = 44
RIGHT = 8
TOP = 10
BOTTOM = 40


@dataclass(frozen=True)
class Tick:
    at: float  # y for a horizontal gridline, x for a label under the axis
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # what hovering it (or a screen reader's exploring it) says
    label: str = ""  # a value written next to it


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float  # where the plot starts and ends, for the axis lines
    right: float
    top: float
    bottom: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    labels: list[Tick]  # category names left of horizontal bars (``at`` is their y)


ZERO_SLIVER = 2.0  # px


def response_chart(weeks: Sequence[WeekResponse], height: int = 240) -> Chart:
    """A column a week, as tall as the share of check-ins answered (a sliver for none); weeks
    with nothing sent have none. Gridlines at every quarter; a label every fourth week, and the
    last."""
    plot_height = height - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    bars, x_ticks = [], []
    for index, week in enumerate(weeks):
        x = LEFT + index * slot
        if index % 4 == 0 or week.and_later:
            x_ticks.append(Tick(x + slot / 2, week_label(week)))
        if week.rate is None:
            continue
        # A week with check-ins sent and none answered shows a sliver, not nothing: only a week
        # with nothing sent has no column.
        tall = max(week.rate * plot_height, ZERO_SLIVER)
        bars.append(
            Bar(
                x=x + slot * 0.15,
                y=TOP + plot_height - tall,
                width=slot * 0.7,
                height=tall,
                title=f"Week {week_label(week)}: {percent(week.rate)} answered "
                f"({week.answered} of {week.sent})",
            )
        )
    y_ticks = [
        Tick(TOP + plot_height * (1 - share), f"{round(share * 100)}%")
        for share in (0, 0.25, 0.5, 0.75, 1)
    ]
    return Chart(
        WIDTH, height, LEFT, WIDTH - RIGHT, TOP, TOP + plot_height, bars, y_ticks, x_ticks, []
    )


ROW = 30  # height of a horizontal bar's row
NAMES = 130  # room for the kinds' names


def alerts_chart(alerts: Sequence[AlertKindFigures]) -> Chart:
    """A horizontal bar a kind, as long as its number of alerts, with that number (and how
    many are not acknowledged) written after it."""
    most = max((kind.alerts for kind in alerts), default=0) or 1
    room = WIDTH - NAMES - 140  # the rest is for the number written after the longest bar
    bars, labels = [], []
    for index, kind in enumerate(alerts):
        y = TOP + index * ROW
        length = room * kind.alerts / most
        waiting = f", {kind.unacknowledged} unacknowledged" if kind.unacknowledged else ""
        bars.append(
            Bar(
                x=NAMES,
                y=y + ROW * 0.15,
                width=length,
                height=ROW * 0.7,
                title=f"{kind_label(kind.kind)}: {kind.alerts} alerts{waiting}",
                label=f"{kind.alerts}"
                + (f" ({kind.unacknowledged} unacknowledged)" if waiting else ""),
            )
        )
        labels.append(Tick(y + ROW / 2, kind_label(kind.kind)))
    bottom = TOP + len(alerts) * ROW
    return Chart(WIDTH, bottom + TOP, NAMES, WIDTH - RIGHT, TOP, bottom, bars, [], [], labels)
