"""Benchmark: composing tailored messages (choose, render, explain) for many clients.

What the scheduler will do for every due check-in: read the client's situation and history,
choose a template from the published library, render it. Run against a fresh database with the
seed library and N clients with different values, languages and stages.

    .venv/bin/python ops/bench/compose.py [--clients 300] [--rounds 3]

Prints figures and writes JSON (with the machine) to ops/bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from inbound_roundtrip import (
    RESULTS,
    drop_database,
    fresh_database,
    machine,
    peak_rss_mib,
    percentile,
)

from service.clients.models import Client
from service.content.library import VALUES, Category
from service.content.rendering import Renderer
from service.content.service import Library, compose, seed_library
from service.content.tailoring import Moment
from service.db import asyncpg_url, create_engine, session_factory
from service.outbox.models import Lane
from service.outbox.service import enqueue

CATEGORIES = (Category.checkin_opener, Category.affirmation, Category.values_reflection)
STAGES = ("contemplation", "preparation", "action", "maintenance")


async def main(clients: int, rounds: int, *, cached: bool) -> dict[str, object]:
    url, postgres = await fresh_database()
    engine = create_engine(asyncpg_url(url))
    await seed_library(engine)
    sessions = session_factory(engine)
    async with sessions() as session:
        people = [
            Client(
                code=f"B{n:05d}",
                first_name=f"P{n}",
                timezone="UTC",
                language="es" if n % 3 == 0 else "en",
                values=[VALUES[n % len(VALUES)], VALUES[(n * 7 + 3) % len(VALUES)]],
                stage_of_change=STAGES[n % len(STAGES)],
                discharge_date=date(2026, 11, 1),
                sobriety_date=date(2026, 11, 1),
                telegram_chat_id=n,
            )
            for n in range(clients)
        ]
        session.add_all(people)
        await session.commit()
    renderer = Renderer()
    library = Library() if cached else None
    results = []
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for round_ in range(rounds):
        latencies = []
        began = time.perf_counter()
        for client in people:
            started = time.perf_counter()
            async with sessions() as session:
                on = now + timedelta(days=round_)
                moment = Moment(CATEGORIES[round_ % len(CATEGORIES)], on.date())
                composed = await compose(session, client, moment, on, renderer, library=library)
                assert composed is not None
                await enqueue(
                    session,
                    chat_id=client.telegram_chat_id or 0,
                    text=composed.text,
                    lane=Lane.scheduled,
                    client_id=client.id,
                    reason=composed.reason,
                    template_version_id=composed.template_version_id,
                )
                await session.commit()
            latencies.append(time.perf_counter() - started)
        elapsed = time.perf_counter() - began
        results.append(
            {
                "messages": clients,
                "messages_per_second": round(clients / elapsed, 1),
                "latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
                "latency_p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
                "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            }
        )
    await engine.dispose()
    await drop_database(url)
    return {
        "benchmark": "compose",
        "library": "cached" if cached else "read for every message",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "postgresql": postgres},
        "rounds": results,
        "median_messages_per_second": statistics.median(r["messages_per_second"] for r in results),
        "peak_rss_mib": peak_rss_mib(os.getpid()),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uncached", action="store_true", help="read the library every time")
    args = parser.parse_args()
    report = asyncio.run(main(args.clients, args.rounds, cached=not args.uncached))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"compose-{report['at']}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201
