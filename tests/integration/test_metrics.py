"""Prometheus metrics: sends counted by lane and outcome (429s too), updates and what the
classifier found, ticks, the active sender, the web role's /metrics with the outbox and alert
figures of the database (and ``aftercare_database_up 0`` without one), the worker's own metrics
port, and JSON logs that carry none of what a person wrote."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.alerts.models import Alert, AlertStatus
from service.clients.models import Client
from service.columns import utcnow
from service.db import create_engine
from service.logs import JsonFormatter
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.outbox.pacing import SendLimits
from service.outbox.sender import Sender
from service.outbox.service import enqueue
from service.runtime import Services
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.scheduler import Tick, Ticker
from service.signals.models import Severity, SignalKind
from service.telegram import SANDBOX_TOKEN, Telegram
from service.web.app import create_app
from tests.people import enrol, service_running
from tests.team import with_settings
from tests.waiting import eventually

UNLIMITED = SendLimits(per_second=0, per_chat_per_second=0, per_group_per_minute=0)
CRISIS = "I want to kill myself tonight, Marigold"


def value(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 when it has none yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """/metrics as {(sample name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def of(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
async def sender(sandbox: SandboxServer, engine: AsyncEngine) -> AsyncIterator[Sender]:
    bot = Telegram(SANDBOX_TOKEN, sandbox.base_url).bot()
    yield Sender(bot, engine, async_sessionmaker(engine, expire_on_commit=False), limits=UNLIMITED)
    await bot.session.close()


async def _queue(sessions: async_sessionmaker[AsyncSession], chat: int, lane: Lane) -> None:
    async with sessions() as session:
        await enqueue(session, chat_id=chat, text=f"to {chat}", lane=lane)
        await session.commit()


async def test_sends_are_counted_by_lane_and_outcome_with_their_latency_and_429s(
    sender: Sender, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    people = [3001, 3002, 3003, 3004, 3005]
    for person in people:
        await telegram.ensure_user(person, f"Person {person}")
    before = {
        (lane, outcome): value("aftercare_messages_sent_total", lane=lane, outcome=outcome)
        for lane in ("crisis", "reply", "scheduled")
        for outcome in ("sent", "retried", "failed", "rate_limited")
    }
    calls, floods = value("aftercare_send_seconds_count"), value("aftercare_telegram_429_total")

    await _queue(sessions, people[0], Lane.crisis)
    await _queue(sessions, people[1], Lane.reply)
    assert await sender.send_next()
    assert await sender.send_next()
    await _queue(sessions, people[2], Lane.reply)
    await telegram.fail_next("sendMessage", 502)
    assert await sender.send_next()
    await _queue(sessions, people[3], Lane.scheduled)
    await telegram.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    assert await sender.send_next()
    await _queue(sessions, people[4], Lane.scheduled)
    await telegram.fail_next("sendMessage", 429, retry_after=30)
    assert await sender.send_next()

    counted = {
        key: value("aftercare_messages_sent_total", lane=key[0], outcome=key[1]) - was
        for key, was in before.items()
    }
    assert {key: n for key, n in counted.items() if n} == {
        ("crisis", "sent"): 1,
        ("reply", "sent"): 1,
        ("reply", "retried"): 1,
        ("scheduled", "failed"): 1,
        ("scheduled", "rate_limited"): 1,
    }
    assert value("aftercare_telegram_429_total") - floods == 1
    assert value("aftercare_send_seconds_count") - calls == 5  # every call's latency
    assert len([call for call in await telegram.calls("sendMessage") if call["ok"]]) == 2


async def test_the_active_sender_says_so_until_it_stops(sender: Sender) -> None:
    idle = value("aftercare_sender_active")
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        group.create_task(sender.run(stop))
        await eventually(lambda: _async(value("aftercare_sender_active")), idle + 1)
        stop.set()
    assert value("aftercare_sender_active") == idle


async def _async(result: float) -> float:
    return result


async def test_ticks_are_timed_and_their_failures_counted() -> None:
    async def fine() -> int:
        return 1

    async def broken() -> int:
        raise RuntimeError("the database went away")

    runs = value("aftercare_tick_seconds_count", tick="metrics_fine")
    failures = value("aftercare_tick_failures_total", tick="metrics_broken")
    stop = asyncio.Event()
    ticker = Ticker([Tick("metrics_fine", 60, fine), Tick("metrics_broken", 60, broken)])
    async with asyncio.TaskGroup() as group:
        group.create_task(ticker.run(stop))
        await eventually(
            lambda: _async(value("aftercare_tick_failures_total", tick="metrics_broken")),
            failures + 1,
        )
        await eventually(
            lambda: _async(value("aftercare_tick_seconds_count", tick="metrics_fine")), runs + 1
        )
        stop.set()
    assert value("aftercare_tick_failures_total", tick="metrics_fine") == 0
    assert value("aftercare_tick_seconds_count", tick="metrics_broken") >= 1


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Outbox rows and alerts whose figures the test knows, for clients with telling names."""
    now = utcnow()
    async with sessions() as session:
        clients = [
            Client(code=f"SECRETCODE{n}", first_name="Zebediah", timezone="UTC") for n in range(4)
        ]
        session.add_all(clients)
        await session.flush()
        ids = [client.id or 0 for client in clients]
        for lane, status, due_in in [
            (Lane.scheduled, OutboxStatus.pending, timedelta(seconds=-120)),
            (Lane.scheduled, OutboxStatus.pending, timedelta(seconds=-10)),
            (Lane.reply, OutboxStatus.pending, timedelta(hours=1)),  # waits for a retry
            (Lane.crisis, OutboxStatus.sent, timedelta(hours=-2)),
        ]:
            session.add(
                OutboxMessage(
                    lane=lane,
                    status=status,
                    chat_id=5001,
                    payload={"text": "Zebediah, how are you?"},
                    not_before=now + due_in,
                )
            )
        opened = now - timedelta(minutes=10)
        hour_ago = now - timedelta(hours=1)
        session.add_all(
            [
                Alert(
                    client_id=ids[0],
                    kind=SignalKind.self_harm,
                    severity=Severity.critical,
                    status=AlertStatus.open,
                    opened_at=opened,
                    escalation_started_at=opened,
                ),
                Alert(
                    client_id=ids[1],
                    kind=SignalKind.relapse,
                    severity=Severity.high,
                    status=AlertStatus.acknowledged,
                    opened_at=hour_ago,
                    escalation_started_at=hour_ago,
                    acknowledged_at=hour_ago + timedelta(minutes=10),
                ),
                Alert(
                    client_id=ids[2],
                    kind=SignalKind.relapse,
                    severity=Severity.high,
                    status=AlertStatus.resolved,
                    opened_at=hour_ago,
                    escalation_started_at=hour_ago,
                    acknowledged_at=hour_ago + timedelta(minutes=30),
                    resolved_at=now,
                ),
                Alert(  # acknowledged two days ago: outside the window
                    client_id=ids[3],
                    kind=SignalKind.craving,
                    severity=Severity.medium,
                    status=AlertStatus.resolved,
                    opened_at=now - timedelta(days=2),
                    acknowledged_at=now - timedelta(days=2),
                    resolved_at=now - timedelta(days=2),
                ),
            ]
        )
        await session.commit()


async def test_the_web_role_shows_the_outbox_and_alerts_without_naming_anyone(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine)), base_url="http://test"
    ) as web:
        answer = await web.get("/metrics")  # no sign-in
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert "SECRETCODE" not in text
    assert "Zebediah" not in text
    samples = scraped(text)

    assert of(samples, "aftercare_database_up") == 1
    pending = {
        lane: of(samples, "aftercare_outbox_pending", lane=lane)
        for lane in ("crisis", "alert", "reply", "scheduled")
    }
    assert pending == {"crisis": 0, "alert": 0, "reply": 1, "scheduled": 2}
    assert of(samples, "aftercare_outbox_due", lane="scheduled") == 2
    assert of(samples, "aftercare_outbox_due", lane="reply") == 0
    assert 119 <= of(samples, "aftercare_outbox_oldest_seconds", lane="scheduled") < 150
    assert of(samples, "aftercare_outbox_oldest_seconds", lane="reply") == 0

    assert of(samples, "aftercare_alerts_open", severity="critical") == 1
    assert of(samples, "aftercare_alerts_open", severity="high") == 1  # the other is resolved
    assert of(samples, "aftercare_alerts_open", severity="medium") == 0
    assert of(samples, "aftercare_alerts_unacknowledged", severity="critical") == 1
    assert of(samples, "aftercare_alerts_unacknowledged", severity="high") == 0
    waited = of(samples, "aftercare_alert_unacknowledged_oldest_seconds", severity="critical")
    assert 599 <= waited < 630
    assert of(samples, "aftercare_alert_unacknowledged_oldest_seconds", severity="high") == 0

    # acknowledged within 24 h: two high alerts, after 10 and 30 minutes
    assert of(samples, "aftercare_alerts_acknowledged_24h", severity="high") == 2
    assert of(samples, "aftercare_alerts_acknowledged_24h", severity="medium") == 0
    median = of(samples, "aftercare_time_to_acknowledge_seconds", severity="high", quantile="0.5")
    p90 = of(samples, "aftercare_time_to_acknowledge_seconds", severity="high", quantile="0.9")
    assert (median, p90) == pytest.approx((1200, 1680))
    assert (
        "aftercare_time_to_acknowledge_seconds",
        frozenset({("severity", "medium"), ("quantile", "0.5")}),
    ) not in samples

    # and the process's own metrics are there too
    assert (
        "aftercare_messages_sent_total",
        frozenset({("lane", "crisis"), ("outcome", "sent")}),
    ) in samples


async def test_without_a_database_metrics_still_answer_with_database_up_0() -> None:
    engine = create_engine(URL.create("postgresql+asyncpg", host="127.0.0.1", port=1, database="x"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(engine)), base_url="http://test"
        ) as web:
            answer = await web.get("/metrics")
    finally:
        await engine.dispose()
    assert answer.status_code == 200
    samples = scraped(answer.text)
    assert of(samples, "aftercare_database_up") == 0
    assert not [key for key in samples if key[0].startswith("aftercare_outbox_")]
    assert not [key for key in samples if key[0].startswith("aftercare_alerts_")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_worker_serves_its_metrics_on_the_metrics_port(services: Services) -> None:
    """On the metrics port at the web role's listen address, and nowhere else."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not a loopback address here (all of 127/8 is, on Linux)")
    port = _free_port()
    worker = with_settings(services, metrics_port=port, web_host="127.0.0.2")
    async with service_running(worker, ("worker",)), httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.2:{port}/metrics")
        assert answer.status_code == 200
        assert "aftercare_sender_active" in answer.text
        assert "aftercare_database_up" not in answer.text  # the web role's alone
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/metrics")
    with pytest.raises(httpx.ConnectError):  # closed with the role
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.2:{port}/metrics")


async def test_updates_and_findings_are_counted_and_json_logs_carry_no_words(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    chat = await enrol(telegram, sessions)
    texts = value("aftercare_inbound_total", kind="text")
    self_harm = value("aftercare_signals_total", kind="self_harm")
    await chat.send(CRISIS)
    await chat.says()  # the crisis response
    await eventually(lambda: _async(value("aftercare_inbound_total", kind="text")), texts + 1)
    assert value("aftercare_signals_total", kind="self_harm") == self_harm + 1
    async with sessions() as session:  # the alert is raised, and so are its messages logged
        await eventually(lambda: _alerts(session), 1)

    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert lines
    words = {word.strip(",").lower() for word in CRISIS.split()} - {"i", "to"}
    loggers = set()
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert entry["time"].endswith("+00:00")
        assert not [word for word in words if word in line.lower()], line
        loggers.add(entry["logger"])
    assert {"service.outbox.sender", "service.alerts.service"} <= loggers, loggers


async def _alerts(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(Alert)) or 0)
