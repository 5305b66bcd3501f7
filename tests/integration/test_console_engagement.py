"""The console's engagement page and its CSV export, over HTTP against the real app and
database: response rate by week since discharge, clients by state, alerts by kind with the
median and 90th percentile of the time to acknowledge, charts, and who sees which figures."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.audit.models import AuditEntry
from service.checkins.models import Checkin, CheckinKind, CheckinStatus
from service.clients.models import Client, ClientState
from service.config import Settings
from service.signals.models import Severity, SignalKind
from service.staff.models import StaffMember, StaffRole
from service.web.engagement import spreadsheet_safe, to_csv
from tests.console import HTML, START, Clock, create, signed_in

A_DISCHARGE = date(2026, 10, 1)
B_DISCHARGE = date(2026, 11, 1)


class Tables(HTMLParser):
    """The text of each cell of each table with an id, row by row."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(page: str, table_id: str) -> list[list[str]]:
    return Tables(page).tables[table_id]


def week_rows(page: str) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table(page, "response-table")[1:]}


def csv_rows(answer: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.text)))


@dataclass
class World:
    coordinator_a: int = 0
    coordinator_b: int = 0
    clients: dict[str, int] = field(default_factory=dict)


def at(day: date, hour: int = 14) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def checkin(client: int, on: date, status: CheckinStatus, sent: bool = True) -> Checkin:
    return Checkin(
        client_id=client,
        kind=CheckinKind.open_question,
        status=status,
        local_date=on,
        scheduled_for=at(on, 13),
        sent_at=at(on) if sent else None,
        answered_at=at(on, 15) if status is CheckinStatus.answered else None,
    )


def alert(
    client: int,
    kind: SignalKind,
    opened: datetime,
    *,
    acknowledged_after: timedelta | None = None,
    resolved_after: timedelta | None = None,
) -> Alert:
    status = AlertStatus.open
    if acknowledged_after is not None:
        status = AlertStatus.acknowledged
    if resolved_after is not None:
        status = AlertStatus.resolved
    return Alert(
        client_id=client,
        kind=kind,
        severity=Severity.high,
        status=status,
        opened_at=opened,
        acknowledged_at=opened + acknowledged_after if acknowledged_after else None,
        resolved_at=opened + resolved_after if resolved_after else None,
    )


async def seed(sessions: async_sessionmaker[AsyncSession]) -> World:
    """Two coordinators' clients, with check-ins and alerts whose figures are known.

    Coordinator A's clients: Ana (discharged 1 October, active), Cy (no discharge date, record
    made 6 March New York time, opted out), Di (invited), Ed (erased). Coordinator B's: Bo
    (discharged 1 November, paused and unreachable)."""
    world = World()
    async with sessions() as session:
        a = StaffMember(name="Avery", role=StaffRole.coordinator)
        b = StaffMember(name="Blake", role=StaffRole.coordinator)
        session.add_all([a, b])
        await session.flush()
        assert a.id is not None and b.id is not None
        world.coordinator_a, world.coordinator_b = a.id, b.id
        people = {
            "ana": Client(code="ANA001", first_name="Ana", coordinator_id=a.id,
                          timezone="America/New_York", state=ClientState.active,
                          discharge_date=A_DISCHARGE),
            "bo": Client(code="BO0002", first_name="Bo", coordinator_id=b.id,
                         timezone="America/New_York", state=ClientState.paused,
                         discharge_date=B_DISCHARGE, unreachable_since=at(date(2026, 11, 20))),
            # 03:00 UTC is still 6 March in New York: week 0 starts on 6 March
            "cy": Client(code="CY0003", first_name="Cy", coordinator_id=a.id,
                         timezone="America/New_York", state=ClientState.opted_out,
                         created_at=datetime(2026, 3, 7, 3, tzinfo=UTC)),
            "di": Client(code="DI0004", first_name="Di", coordinator_id=a.id,
                         timezone="America/New_York"),
            "ed": Client(code="ED0005", first_name="Ed", coordinator_id=a.id,
                         timezone="America/New_York", state=ClientState.erased),
        }  # fmt: skip
        session.add_all(people.values())
        await session.flush()
        world.clients = {name: client.id for name, client in people.items() if client.id}
        ana, bo, cy = world.clients["ana"], world.clients["bo"], world.clients["cy"]
        answered, missed, sent = CheckinStatus.answered, CheckinStatus.missed, CheckinStatus.sent
        session.add_all(
            [
                # Ana, week 0: 2 of 3 answered; week 1: 0 of 1 (plus one still awaited)
                checkin(ana, date(2026, 10, 1), answered),
                checkin(ana, date(2026, 10, 3), missed),
                checkin(ana, date(2026, 10, 5), answered),
                checkin(ana, date(2026, 10, 9), missed),
                checkin(ana, date(2026, 10, 10), CheckinStatus.planned, sent=False),
                checkin(ana, date(2026, 10, 11), CheckinStatus.cancelled),
                # Bo, week 0: 1 of 1; one dated before his discharge does not count
                checkin(bo, date(2026, 11, 2), answered),
                checkin(bo, date(2026, 10, 30), answered),
                # Cy, 37 weeks after his record was made: week 26 or later, 1 of 1; and a day
                # that is week 1 counted from his New York date (week 0 from the UTC one)
                checkin(cy, date(2026, 11, 20), answered),
            ]
        )
        late = checkin(cy, date(2026, 3, 13), sent)
        late.sent_at = at(date(2026, 11, 21))
        session.add(late)
        # sent before the last 90 days: not counted
        old = checkin(ana, date(2026, 10, 12), answered)
        old.sent_at = datetime(2026, 8, 1, tzinfo=UTC)
        session.add(old)
        opened = datetime(2026, 11, 20, 10, tzinfo=UTC)
        minutes = [10, 20, 30, 40]
        session.add_all(
            [
                *(
                    alert(ana, SignalKind.relapse, opened, acknowledged_after=timedelta(minutes=m))
                    for m in minutes
                ),
                alert(ana, SignalKind.relapse, opened, resolved_after=timedelta(minutes=100)),
                alert(ana, SignalKind.relapse, opened),  # nobody has acknowledged it
                alert(bo, SignalKind.craving, opened, acknowledged_after=timedelta(hours=2)),
                # opened before the period
                alert(ana, SignalKind.sos, datetime(2026, 6, 1, tzinfo=UTC), resolved_after=None),
            ]
        )
        await session.commit()
    return world


async def test_the_figures_are_exact_and_the_csv_says_the_same(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = await web.get("/console/engagement", headers=HTML)
        assert page.status_code == 200
        weeks = week_rows(page.text)
        assert len(weeks) == 27
        assert weeks["0"] == ["4", "3", "75.0%"]
        assert weeks["1"] == ["2", "0", "0.0%"]
        assert weeks["26 or later"] == ["1", "1", "100.0%"]
        assert weeks["2"] == ["0", "0", "-"]
        assert table(page.text, "states")[1:] == [
            ["Invited (link not used yet)", "1"],
            ["Waiting for consent", "0"],
            ["Onboarding", "0"],
            ["Active", "1"],
            ["Paused", "1"],
            ["Opted out", "1"],
            ["Unreachable (blocked the bot)", "1"],
        ]
        # relapse: waits of 10, 20, 30, 40 and 100 minutes (resolved without acknowledging)
        # and one still waiting: median 30 minutes, p90 40 + 0.6 * (100 - 40) = 76 minutes
        assert table(page.text, "alerts-table")[1:] == [
            ["Relapse", "6", "5", "1", "30 min", "1 h 16 min"],
            ["Craving", "1", "1", "0", "2 h", "2 h"],
        ]

        exported = await web.get("/console/engagement.csv", params={"table": "response"})
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "text/csv; charset=utf-8"
        assert exported.headers["content-disposition"] == (
            'attachment; filename="engagement-response-90d-2026-11-26.csv"'
        )
        rows = csv_rows(exported)
        assert rows[0] == ["weeks_since_discharge", "sent", "answered", "response_rate_percent"]
        assert rows[1:3] == [["0", "4", "3", "75.0"], ["1", "2", "0", "0.0"]]
        assert rows[3] == ["2", "0", "0", ""]
        assert rows[-1] == ["26+", "1", "1", "100.0"]
        states = csv_rows(await web.get("/console/engagement.csv", params={"table": "states"}))
        assert states == [
            ["state", "clients"],
            ["invited", "1"],
            ["consent_pending", "0"],
            ["onboarding", "0"],
            ["active", "1"],
            ["paused", "1"],
            ["opted_out", "1"],
            ["unreachable", "1"],
        ]
        alerts = csv_rows(await web.get("/console/engagement.csv", params={"table": "alerts"}))
        assert alerts == [
            [
                "kind",
                "alerts",
                "acknowledged",
                "unacknowledged",
                "median_minutes_to_acknowledge",
                "p90_minutes_to_acknowledge",
            ],
            ["relapse", "6", "5", "1", "30.0", "76.0"],
            ["craving", "1", "1", "0", "120.0", "120.0"],
        ]
        unknown = await web.get("/console/engagement.csv", params={"table": "people"})
        assert unknown.status_code == 404
    async with sessions() as session:
        exports = (
            await session.scalars(
                sa.select(AuditEntry).where(col(AuditEntry.action) == "engagement.exported")
            )
        ).all()
    assert [entry.detail["table"] for entry in exports] == ["response", "states", "alerts"]


async def test_a_shorter_period_counts_less(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await create(settings, "vi@example.org", "viewer")
    async with signed_in(engine, clock, "vi@example.org") as web:
        page = await web.get("/console/engagement", params={"days": 30}, headers=HTML)
        assert '<option value="30" selected>' in page.text
        weeks = week_rows(page.text)  # Ana's October check-ins are more than 30 days old
        assert weeks["0"] == ["1", "1", "100.0%"]
        assert weeks["1"] == ["1", "0", "0.0%"]
        odd = await web.get("/console/engagement", params={"days": 12345}, headers=HTML)
        assert '<option value="90" selected>' in odd.text  # not a period offered: 90 days
    clock.advance(days=40)  # nothing was sent and no alert opened in the 30 days to 5 January
    async with signed_in(engine, clock, "vi@example.org") as web:
        quiet = await web.get("/console/engagement", params={"days": 30}, headers=HTML)
    assert all(row == ["0", "0", "-"] for row in week_rows(quiet.text).values())
    assert 'id="alerts-table"' not in quiet.text
    assert "No alerts were opened in this period." in quiet.text


async def test_a_coordinator_sees_only_their_own_clients(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await seed(sessions)
    await create(settings, "avery@example.org", "coordinator", staff=world.coordinator_a)
    async with signed_in(engine, clock, "avery@example.org") as web:
        page = await web.get("/console/engagement", headers=HTML)
        assert "Your clients only." in page.text
        weeks = week_rows(page.text)
        assert weeks["0"] == ["3", "2", "66.7%"]
        assert weeks["26 or later"] == ["1", "1", "100.0%"]
        states = dict(table(page.text, "states")[1:])
        assert (states["Paused"], states["Unreachable (blocked the bot)"]) == ("0", "0")
        assert (states["Active"], states["Opted out"], states["Invited (link not used yet)"]) == (
            "1",
            "1",
            "1",
        )
        assert [row[0] for row in table(page.text, "alerts-table")[1:]] == ["Relapse"]
        alerts = csv_rows(await web.get("/console/engagement.csv", params={"table": "alerts"}))
        assert [row[0] for row in alerts[1:]] == ["relapse"]


async def test_charts_are_labelled_images_with_a_bar_per_week_answered(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = (await web.get("/console/engagement", headers=HTML)).text
    for chart, title in (
        ("response-chart", "Response rate by week since discharge"),
        ("alerts-chart", "Alerts by kind"),
    ):
        svg = re.search(rf'<svg id="{chart}"[^>]*>(.*?)</svg>', page, re.DOTALL)
        assert svg is not None
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in svg.group(0)
        assert 'role="img"' in svg.group(0)
        assert f'<title id="{chart}-title">{title}</title>' in svg.group(1)
    response = re.search(r'<svg id="response-chart".*?</svg>', page, re.DOTALL)
    assert response is not None
    bars = re.findall(
        r'<rect class="bar"[^>]*height="([\d.]+)"><title>([^<]*)</title>', response[0]
    )
    # week 0, week 1 (none answered: a sliver) and 26 or later; the plot is 190 units tall
    assert bars == [
        ("142.5", "Week 0: 75.0% answered (3 of 4)"),
        ("2.0", "Week 1: 0.0% answered (0 of 2)"),
        ("190.0", "Week 26+: 100.0% answered (1 of 1)"),
    ]
    alerts = re.search(r'<svg id="alerts-chart".*?</svg>', page, re.DOTALL)
    assert alerts is not None
    assert "<title>Relapse: 6 alerts, 1 unacknowledged</title>" in alerts[0]
    assert "<title>Craving: 1 alerts</title>" in alerts[0]
    assert "<script" not in page


async def test_the_csv_cannot_smuggle_a_formula_into_a_spreadsheet(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An alert kind written by another version (the column is text) that looks like a
    formula is exported as text, and escaped on the page."""
    formula = "=<i>1</i>+cmd|A"  # the column holds 16 characters
    world = await seed(sessions)
    async with sessions() as session:
        await session.execute(
            sa.text(
                "INSERT INTO alerts (client_id, kind, severity, status, summary, escalation_level,"
                " opened_at) VALUES (:client, :kind, 'high', 'open', '', 0, :opened)"
            ),
            {"client": world.clients["ana"], "kind": formula, "opened": START - timedelta(days=1)},
        )
        await session.commit()
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        alerts = csv_rows(await web.get("/console/engagement.csv", params={"table": "alerts"}))
        page = (await web.get("/console/engagement", headers=HTML)).text
    assert ["'" + formula, "1", "0", "1", "", ""] in alerts
    assert "=&lt;i&gt;1&lt;/i&gt;+cmd|A" in page and "<i>1</i>" not in page
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(cell) == "'" + cell
    assert to_csv([["=cmd", "ok", "a,b"]]) == '\'=cmd,ok,"a,b"\r\n'


async def test_signing_in_is_needed(engine: AsyncEngine, clock: Clock) -> None:
    from tests.console import browser

    async with browser(engine, clock) as web:
        page = await web.get("/console/engagement", headers=HTML)
        exported = await web.get("/console/engagement.csv")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/console/engagement"
    assert exported.status_code == 401
