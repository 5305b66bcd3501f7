"""The worker's periodic ticks, run by APScheduler as a few jobs with fixed ids.

APScheduler 3.x cannot share a job store between processes, so it runs ticks, not a job per
client: per-client timing is the ``next_checkin_at`` column, and each tick claims its rows with
``FOR UPDATE SKIP LOCKED``. Every worker runs the same jobs; they share the due rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.alerts.escalation import Escalator
from service.checkins.planner import Planner
from service.clients.retention import Redactor
from service.console.accounts import Tidier
from service.metrics import TICK_FAILURES, TICK_SECONDS, prepare_ticks

log = logging.getLogger(__name__)

FOLLOW_UP_SECONDS = 60.0
RESUME_SECONDS = 60.0
ESCALATE_SECONDS = 30.0
TIDY_CONSOLE_SECONDS = 3600.0
REDACT_SECONDS = 3600.0


@dataclass(frozen=True)
class Tick:
    id: str
    every: float  # seconds
    run: Callable[[], Awaitable[int]]


def ticks(
    planner: Planner,
    escalator: Escalator,
    tidier: Tidier,
    redactor: Redactor,
    *,
    plan_every: float,
) -> list[Tick]:
    """Scheduled touches (milestones among them), follow-ups and misses, pauses that end,
    alerts nobody acknowledged climbing the escalation ladder, the console's dead sessions and
    old sign-in attempts deleted, and words kept past the retention period redacted."""
    return [
        Tick("plan", plan_every, planner.plan),
        Tick("follow_up", FOLLOW_UP_SECONDS, planner.follow_up),
        Tick("resume", RESUME_SECONDS, planner.resume),
        Tick("escalate", ESCALATE_SECONDS, escalator.escalate),
        Tick("tidy_console", TIDY_CONSOLE_SECONDS, tidier.tidy),
        Tick("redact", REDACT_SECONDS, redactor.redact),
    ]


class Ticker:
    """Runs the ticks until stopped: each at once and then every ``every`` seconds, never two of
    one id at a time, a late run coalesced instead of repeated. A tick that fails is logged and
    runs again next time. On stop, no tick starts and the running ones finish."""

    def __init__(self, work: list[Tick]) -> None:
        self.work = work
        prepare_ticks(tick.id for tick in work)
        self._running: set[str] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self, stop: asyncio.Event) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for tick in self.work:
            scheduler.add_job(
                self._run,
                "interval",
                args=[tick],
                seconds=tick.every,
                id=tick.id,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        try:
            await stop.wait()
            scheduler.pause()
            await self._idle.wait()
        finally:
            scheduler.shutdown(wait=False)

    async def _run(self, tick: Tick) -> None:
        self._running.add(tick.id)
        self._idle.clear()
        started = time.perf_counter()
        try:
            done = await tick.run()
            log.info("tick %s: %s in %.3fs", tick.id, done, time.perf_counter() - started)
        except Exception:
            TICK_FAILURES.labels(tick.id).inc()
            log.exception("tick %s failed; it runs again in %ss", tick.id, tick.every)
        finally:
            TICK_SECONDS.labels(tick.id).observe(time.perf_counter() - started)
            self._running.discard(tick.id)
            if not self._running:
                self._idle.set()
