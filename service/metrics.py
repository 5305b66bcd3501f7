"""Prometheus metrics: what each process counts, and what the database says when scraped.

Counters, histograms and the sender's gauge live in the process's default registry: the bot role
counts updates and classifications, the worker role sends and ticks, and ``aftercare run`` (one
process) has all of them. The bot and worker roles serve them on ``AFTERCARE_METRICS_PORT``
(`serving`); the web role serves them at ``GET /metrics`` (`render`) together with gauges read
from PostgreSQL at scrape time (`database_snapshot`): the outbox's depth and age, open alerts and
how long they wait, time to acknowledge, and whether the database answers at all.

Every label value is one of a fixed set (lanes, outcomes, kinds, severities, tick ids): never an
id, a name or anything a person wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from service.conversations.models import InboundKind
from service.outbox.models import Lane
from service.signals.models import Severity, SignalKind

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("sent", "retried", "rate_limited", "unauthorized", "blocked", "failed")
"""What became of one call to Telegram (`service.outbox.sender.outcome_label`)."""
LANES = tuple(lane.name for lane in Lane)
SEVERITIES = tuple(severity.value for severity in Severity)
QUANTILES = (0.5, 0.9)
ACKNOWLEDGED_WINDOW_HOURS = 24
QUERY_TIMEOUT_SECONDS = 3.0  # the whole scrape's queries, connecting included
STATEMENT_TIMEOUT_MS = 2000

# --- counted by each process -----------------------------------------------------------------

MESSAGES_SENT = Counter(
    "aftercare_messages_sent",
    "Calls the sender made to Telegram, by lane and outcome: sent; retried (a server or "
    "network error, backing off); rate_limited (429, the chat waits); unauthorized (the token "
    "refused, the message waits); blocked (403); failed (refused for good, or the last attempt).",
    ["lane", "outcome"],
)
SEND_SECONDS = Histogram(
    "aftercare_send_seconds",
    "Latency of the sender's Bot API calls, whatever Telegram answered.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TELEGRAM_429 = Counter(
    "aftercare_telegram_429",
    "Telegram's 'Too Many Requests' answers (flood control) to the sender.",
)
SENDER_ACTIVE = Gauge(
    "aftercare_sender_active",
    "1 in the worker whose sender holds the bot's sender lock (the one that sends), else 0.",
)
INBOUND = Counter(
    "aftercare_inbound",
    "Updates received from Telegram and recorded, by kind (text, command, callback, ...).",
    ["kind"],
)
SIGNALS = Counter(
    "aftercare_signals",
    "What the classifier found in the words people wrote, by signal kind (one per kind and "
    "message; talk types as change_talk and sustain_talk).",
    ["kind"],
)
TICK_SECONDS = Histogram(
    "aftercare_tick_seconds",
    "How long the worker's ticks take, by tick (failed runs included).",
    ["tick"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
TICK_FAILURES = Counter(
    "aftercare_tick_failures",
    "Tick runs that raised (logged; the tick runs again at its next time), by tick.",
    ["tick"],
)

for _lane in LANES:  # every series exists from the start, at 0, for rate() and alerts
    for _outcome in OUTCOMES:
        MESSAGES_SENT.labels(_lane, _outcome)
for _kind in InboundKind:
    INBOUND.labels(_kind.value)
for _signal in SignalKind:
    SIGNALS.labels(_signal.value)

SIGNAL_KINDS = frozenset(kind.value for kind in SignalKind)
TALK_KINDS = {"change": SignalKind.change_talk.value, "sustain": SignalKind.sustain_talk.value}


def lane_label(lane: int) -> str:
    return Lane(lane).name if lane in Lane._value2member_map_ else "other"


def count_send(lane: int, outcome: str, seconds: float | None) -> None:
    """One call to Telegram: its outcome and, if it was made, how long it took."""
    MESSAGES_SENT.labels(lane_label(lane), outcome).inc()
    if outcome == "rate_limited":
        TELEGRAM_429.inc()
    if seconds is not None:
        SEND_SECONDS.observe(seconds)


def count_inbound(kind: str, signal_kinds: Iterable[str] = ()) -> None:
    """One recorded update, and the kinds the classifier found in its words."""
    INBOUND.labels(kind if kind in InboundKind._value2member_map_ else "other").inc()
    for signal in set(signal_kinds):
        SIGNALS.labels(signal if signal in SIGNAL_KINDS else "other").inc()


def prepare_ticks(tick_ids: Iterable[str]) -> None:
    """The ticks' series, at 0 before their first run."""
    for tick in tick_ids:
        TICK_SECONDS.labels(tick)
        TICK_FAILURES.labels(tick)


# --- read from the database when /metrics is scraped -----------------------------------------

OUTBOX_QUERY = sa.text(
    """
    SELECT lane,
           count(*),
           count(*) FILTER (WHERE not_before <= now()),
           extract(epoch FROM now() - min(not_before) FILTER (WHERE not_before <= now()))
    FROM outbox_messages
    WHERE status = 'pending'
    GROUP BY lane
    """
)  # the partial index of pending rows (ix_outbox_messages_due) holds every column read
ALERTS_QUERY = sa.text(
    """
    SELECT severity,
           count(*),
           count(*) FILTER (WHERE status = 'open'),
           extract(epoch FROM now() - min(coalesce(escalation_started_at, opened_at))
                   FILTER (WHERE status = 'open'))
    FROM alerts
    WHERE status IN ('open', 'acknowledged')
    GROUP BY severity
    """
)  # ix_alerts_status
ACKNOWLEDGED_QUERY = sa.text(
    f"""
    SELECT severity,
           count(*),
           percentile_cont(:low) WITHIN GROUP (ORDER BY waited),
           percentile_cont(:high) WITHIN GROUP (ORDER BY waited)
    FROM (
        SELECT severity,
               greatest(0, extract(epoch FROM acknowledged_at
                                   - coalesce(escalation_started_at, opened_at))) AS waited
        FROM alerts
        WHERE acknowledged_at >= now() - interval '{ACKNOWLEDGED_WINDOW_HOURS} hours'
    ) AS acknowledged
    GROUP BY severity
    """
)  # a scan of alerts (one row per client and episode: a small table)


@dataclass(frozen=True)
class LaneDepth:
    pending: int = 0
    due: int = 0
    oldest_seconds: float = 0.0


@dataclass(frozen=True)
class OpenAlerts:
    unresolved: int = 0
    unacknowledged: int = 0
    oldest_unacknowledged_seconds: float = 0.0


@dataclass(frozen=True)
class Acknowledged:
    count: int = 0
    quantiles: tuple[float, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """What the database said at one scrape; ``up`` False when it could not say."""

    up: bool
    outbox: dict[str, LaneDepth] = field(default_factory=dict)
    alerts: dict[str, OpenAlerts] = field(default_factory=dict)
    acknowledged: dict[str, Acknowledged] = field(default_factory=dict)


async def database_snapshot(engine: AsyncEngine) -> Snapshot:
    """The outbox, alert and acknowledgement figures, in one read-only transaction bounded in
    time; a database that cannot be reached or queried is a snapshot with ``up`` False."""
    try:
        async with asyncio.timeout(QUERY_TIMEOUT_SECONDS), engine.connect() as conn:
            await conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            await conn.execute(sa.text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            outbox = {
                lane_label(lane): LaneDepth(pending, due, float(oldest or 0))
                for lane, pending, due, oldest in await conn.execute(OUTBOX_QUERY)
            }
            alerts = {
                severity: OpenAlerts(unresolved, unacknowledged, float(oldest or 0))
                for severity, unresolved, unacknowledged, oldest in await conn.execute(ALERTS_QUERY)
            }
            acknowledged = {
                severity: Acknowledged(count, (float(low), float(high)))
                for severity, count, low, high in await conn.execute(
                    ACKNOWLEDGED_QUERY, {"low": QUANTILES[0], "high": QUANTILES[1]}
                )
            }
    except (OSError, TimeoutError, sa.exc.SQLAlchemyError) as exc:
        log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
        return Snapshot(up=False)
    return Snapshot(True, outbox, alerts, acknowledged)


def database_families(snapshot: Snapshot) -> list[Metric]:
    """The snapshot as metric families. Every family is there, with no samples when the
    database is down (but ``aftercare_database_up`` 0), so that alerts see the gap rather than
    old numbers; with it up, every lane and severity has its series, 0 when there is nothing."""
    up = GaugeMetricFamily(
        "aftercare_database_up",
        "1 when the web role's metrics queries against PostgreSQL succeeded, else 0.",
        value=1 if snapshot.up else 0,
    )
    pending = GaugeMetricFamily(
        "aftercare_outbox_pending",
        "Outbox rows waiting to be sent (due now or later), by lane.",
        labels=["lane"],
    )
    due = GaugeMetricFamily(
        "aftercare_outbox_due", "Outbox rows due now and not yet sent, by lane.", labels=["lane"]
    )
    oldest = GaugeMetricFamily(
        "aftercare_outbox_oldest_seconds",
        "How long the oldest due outbox row has been due, by lane (0: none due).",
        labels=["lane"],
    )
    alerts_open = GaugeMetricFamily(
        "aftercare_alerts_open",
        "Alerts not resolved (open or acknowledged), by severity.",
        labels=["severity"],
    )
    unacknowledged = GaugeMetricFamily(
        "aftercare_alerts_unacknowledged",
        "Alerts nobody has acknowledged yet, by severity.",
        labels=["severity"],
    )
    waiting = GaugeMetricFamily(
        "aftercare_alert_unacknowledged_oldest_seconds",
        "How long the oldest unacknowledged alert has waited at its severity, by severity "
        "(0: none).",
        labels=["severity"],
    )
    to_acknowledge = GaugeMetricFamily(
        "aftercare_time_to_acknowledge_seconds",
        f"Time from an alert's opening (or its rise to its severity) to its acknowledgement, "
        f"over alerts acknowledged in the last {ACKNOWLEDGED_WINDOW_HOURS} h: quantiles by "
        "severity (no series when none was).",
        labels=["severity", "quantile"],
    )
    acknowledged = GaugeMetricFamily(
        "aftercare_alerts_acknowledged_24h",
        f"Alerts acknowledged in the last {ACKNOWLEDGED_WINDOW_HOURS} h, by severity.",
        labels=["severity"],
    )
    if snapshot.up:
        for lane in (*LANES, *sorted(set(snapshot.outbox) - set(LANES))):
            depth = snapshot.outbox.get(lane, LaneDepth())
            pending.add_metric([lane], depth.pending)
            due.add_metric([lane], depth.due)
            oldest.add_metric([lane], depth.oldest_seconds)
        for severity in SEVERITIES:
            alert = snapshot.alerts.get(severity, OpenAlerts())
            alerts_open.add_metric([severity], alert.unresolved)
            unacknowledged.add_metric([severity], alert.unacknowledged)
            waiting.add_metric([severity], alert.oldest_unacknowledged_seconds)
            done = snapshot.acknowledged.get(severity, Acknowledged())
            acknowledged.add_metric([severity], done.count)
            for quantile, seconds in zip(QUANTILES, done.quantiles, strict=False):
                to_acknowledge.add_metric([severity, str(quantile)], seconds)
    return [
        up,
        pending,
        due,
        oldest,
        alerts_open,
        unacknowledged,
        waiting,
        to_acknowledge,
        acknowledged,
    ]


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def render(snapshot: Snapshot | None, registry: CollectorRegistry = REGISTRY) -> bytes:
    """The exposition text: the process's metrics, and the snapshot's if there is one."""
    text = generate_latest(registry)
    if snapshot is not None:
        extra = CollectorRegistry(auto_describe=False)
        extra.register(_Families(database_families(snapshot)))
        text += generate_latest(extra)
    return text


def exposed_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """Every series name /metrics can show (``_total``, ``_bucket`` and the like included), for
    checking that alert rules and dashboards refer to metrics that exist."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
    }
    names: set[str] = set()
    for family in [*registry.collect(), *database_families(Snapshot(up=False))]:
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


@contextlib.contextmanager
def serving(port: int, host: str) -> Iterator[None]:
    """The process's metrics on ``http://host:port/metrics`` (prometheus_client's own threaded
    HTTP server), shut down on leaving."""
    server, thread = start_http_server(port, host)
    log.info("metrics: serving on %s:%s", host, port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
