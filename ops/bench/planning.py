"""Benchmark: one planner tick when 100,000 clients are due at once.

The worst case for the planner: every client's ``next_checkin_at`` has passed (a day's morning
for a large program, or the workers were down), in several timezones, languages, values and
stages. One tick claims them batch after batch, adapts cadences, composes each tailored touch,
writes the check-ins and outbox rows and advances every ``next_checkin_at``. The clients are
loaded with COPY beforehand; the tick runs in a fresh process so that its peak RSS is its own.

    .venv/bin/python ops/bench/planning.py [--clients 100000] [--batch 500]

Prints a summary and, as its last line, JSON with ``plan_tick_s`` and ``plan_rss_mb``; writes
the full figures (and the machine) to ops/bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbound_roundtrip import RESULTS, drop_database, fresh_database, machine, peak_rss_mib

from service.checkins.planner import Planner
from service.content.library import VALUES
from service.content.service import Messaging, seed_library
from service.db import _asyncpg_params, asyncpg_url, create_engine, session_factory
from service.runtime import settle_heap

NOW = datetime(
    2026, 11, 30, 15, 0, tzinfo=UTC
)  # a Monday: a contact day in every phase but monthly
# 10:00 in New York, 09:00 in Chicago, 15:00 in London, 16:00 in Madrid: touches go out;
# 07:00 in Los Angeles is before the program's open hours: those are only planned again.
ZONES = (
    "America/New_York",
    "America/Chicago",
    "Europe/London",
    "Europe/Madrid",
    "America/Los_Angeles",
)
STAGES = ("contemplation", "preparation", "action", "maintenance")
COLUMNS = (
    "code",
    "first_name",
    "state",
    "telegram_user_id",
    "telegram_chat_id",
    "timezone",
    "language",
    "checkin_window_start",
    "checkin_window_end",
    "values",
    "reasons",
    "stage_of_change",
    "discharge_date",
    "sobriety_date",
    "cadence_mode",
    "next_checkin_at",
    "touches",
    "missed_in_row",
    "answered_in_row",
)


def client_row(n: int) -> tuple[object, ...]:
    values = [VALUES[n % len(VALUES)], VALUES[(n * 7 + 3) % len(VALUES)]]
    return (
        f"P{n:07d}",
        f"P{n}",
        "active",
        1_000_000 + n,
        1_000_000 + n,
        ZONES[n % len(ZONES)],
        "es" if n % 3 == 0 else "en",
        clock_time(8),
        clock_time(20),
        json.dumps(values),
        json.dumps({values[0]: "for the people I love"}),
        STAGES[n % len(STAGES)],
        date(2026, 11, 29) - timedelta(days=n % 365),  # every phase but the monthly one
        date(2026, 10, 1) - timedelta(days=n % 700),
        "normal",
        NOW - timedelta(seconds=1 + n % 600),
        n % 11,
        0,
        n % 5,
    )


HISTORY = 5  # messages each client received in the last 30 days, which tailoring reads
HISTORY_COLUMNS = (
    "lane",
    "status",
    "chat_id",
    "method",
    "payload",
    "client_id",
    "template_version_id",
    "reason",
    "attempts",
    "not_before",
    "created_at",
    "sent_at",
)


async def load_clients(url: str, count: int) -> None:
    """The clients, and a month of what they heard, as a running service would have it."""
    conn = await asyncpg.connect(**_asyncpg_params(asyncpg_url(url)))
    try:
        for start in range(0, count, 10_000):
            rows = [client_row(n) for n in range(start, min(count, start + 10_000))]
            await conn.copy_records_to_table("clients", records=rows, columns=COLUMNS)
        versions = [row["id"] for row in await conn.fetch("SELECT id FROM template_versions")]
        ids = [row["id"] for row in await conn.fetch("SELECT id, values FROM clients")]
        for start in range(0, len(ids), 10_000):
            history = [
                history_row(client_id, versions[(client_id * 31 + day) % len(versions)], day)
                for client_id in ids[start : start + 10_000]
                for day in range(1, HISTORY * 5, 5)
            ]
            await conn.copy_records_to_table(
                "outbox_messages", records=history, columns=HISTORY_COLUMNS
            )
        await conn.execute("ANALYZE clients, outbox_messages")  # checkins: still empty
    finally:
        await conn.close()


def history_row(client_id: int, version_id: int, days_ago: int) -> tuple[object, ...]:
    at = NOW - timedelta(days=days_ago)
    reason = {"on": at.date().isoformat(), "value": VALUES[client_id % len(VALUES)]}
    return (
        3,
        "sent",
        1_000_000 + client_id,
        "sendMessage",
        json.dumps({"text": "earlier message", "parse_mode": "HTML"}),
        client_id,
        version_id,
        json.dumps(reason),
        1,
        at,
        at,
        at,
    )


async def tick(url: str, batch: int, start_at: float) -> dict[str, object]:
    """The measured part, in a worker process of its own: plan from ``start_at`` (epoch)."""
    engine = create_engine(asyncpg_url(url))
    planner = Planner(session_factory(engine), Messaging(), clock=lambda: NOW, batch=batch)
    settle_heap()  # as `aftercare worker` does once started
    async with engine.connect():  # connected before the start, as a running worker is
        await asyncio.sleep(max(0.0, start_at - time.time()))
        touches = await planner.plan()
    finished_at = time.time()
    await engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "touches": touches,
        "finished_at": finished_at,
        "rss_mb": peak_rss_mib(os.getpid()),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    }


async def main(clients: int, batch: int, workers: int) -> dict[str, object]:
    url, postgres = await fresh_database()
    engine = create_engine(asyncpg_url(url))
    await seed_library(engine)
    await engine.dispose()
    loading = time.perf_counter()
    await load_clients(url, clients)
    loaded_s = time.perf_counter() - loading
    start_at = time.time() + 5  # after every worker has imported and connected
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--tick",
            url,
            "--batch",
            str(batch),
            "--start-at",
            str(start_at),
            stdout=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    measured = []
    for child in children:
        output, _ = await child.communicate()
        assert child.returncode == 0, "a worker failed"
        measured.append(json.loads(output.decode().strip().splitlines()[-1]))
    conn = await asyncpg.connect(**_asyncpg_params(asyncpg_url(url)))
    try:
        still_due = await conn.fetchval(
            "SELECT count(*) FROM clients WHERE next_checkin_at <= $1", NOW
        )
        queued = await conn.fetchval(
            "SELECT count(*) FROM outbox_messages WHERE status = 'pending'"
        )
        duplicates = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT (client_id, local_date)) FROM checkins"
        )
    finally:
        await conn.close()
    await drop_database(url)
    elapsed = max(float(m["finished_at"]) for m in measured) - start_at
    return {
        "benchmark": "planning",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "postgresql": postgres},
        "clients": clients,
        "workers": workers,
        "batch": batch,
        "load_s": round(loaded_s, 1),
        "plan_tick_s": round(elapsed, 2),
        "clients_per_s": round(clients / elapsed),
        "plan_rss_mb": max(float(m["rss_mb"]) for m in measured),
        "touches": [m["touches"] for m in measured],
        "worker_cpu_s": [m["cpu_s"] for m in measured],  # imports and set-up included
        "queued": queued,
        "still_due": still_due,
        "duplicates": duplicates,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="worker processes sharing it")
    parser.add_argument("--tick", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tick:
        print(json.dumps(asyncio.run(tick(args.tick, args.batch, args.start_at))))  # noqa: T201
        sys.exit(0)
    report = asyncio.run(main(args.clients, args.batch, args.workers))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"planning-{report['at']}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201
    print(json.dumps({"plan_tick_s": report["plan_tick_s"], "plan_rss_mb": report["plan_rss_mb"]}))  # noqa: T201
