"""Benchmark: people write to the bot at once; how fast does every one of them get an answer?

Each simulated person sends ``/start`` without an invite. That is the whole inbound path: the
bot role long-polls the sandbox Bot API, records the update and runs the handler in one
transaction, queues the answer in the outbox and NOTIFYs; the worker role claims the row and
sends it. The bot and worker run as separate ``aftercare`` processes, as in production; the
sandbox runs in its own process with flood control off, so the figures are the service's own.

    .venv/bin/python ops/bench/inbound_roundtrip.py [--people 500] [--rounds 3]

Prints a summary and writes JSON (figures and the machine) to ops/bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from service.db import _asyncpg_params, asyncpg_url, create_engine, start_embedded_postgres
from service.migrate import upgrade_to_head
from service.sandbox.client import SandboxClient

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "ops" / "bench" / "results"
SANDBOX = """
import asyncio, sys
from service.sandbox.server import SandboxServer
from service.telegram import SANDBOX_TOKEN, SANDBOX_USERNAME

async def main():
    async with SandboxServer(port=int(sys.argv[1]), bot_token=SANDBOX_TOKEN,
                             bot_username=SANDBOX_USERNAME, rate_limits=None):
        await asyncio.Event().wait()

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def fresh_database() -> tuple[str, str]:
    """A new, migrated database on AFTERCARE_TEST_DATABASE_URL's server, else on
    AFTERCARE_DATABASE_URL's, else an embedded one; its URL and the server's version."""
    configured = os.environ.get("AFTERCARE_TEST_DATABASE_URL") or os.environ.get(
        "AFTERCARE_DATABASE_URL"
    )
    if configured:
        admin = asyncpg_url(configured)
    else:
        var = ROOT / "var"
        var.mkdir(exist_ok=True)
        admin = start_embedded_postgres(var / "bench")
    name = f"aftercare_bench_{os.getpid()}"
    conn = await asyncpg.connect(**_asyncpg_params(admin))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    url = admin.set(database=name)
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return url.render_as_string(hide_password=False), str(version)


async def drop_database(url: str) -> None:
    """Remove a benchmark's database: each run makes its own."""
    database = asyncpg_url(url)
    conn = await asyncpg.connect(**_asyncpg_params(database.set(database="postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)')
    finally:
        await conn.close()


async def one_round(
    telegram: SandboxClient, people: list[int], answers: dict[int, int]
) -> dict[str, float]:
    """Everyone writes at once; each waits for one more answer than they had."""

    async def converse(person: int) -> float:
        answers[person] += 1
        sent = time.perf_counter()
        await telegram.send_text(person, "/start")
        await telegram.wait_for_messages(person, answers[person], timeout=120)
        return time.perf_counter() - sent

    began = time.perf_counter()
    latencies = await asyncio.gather(*(converse(person) for person in people))
    elapsed = time.perf_counter() - began
    return {
        "people": len(people),
        "seconds": round(elapsed, 3),
        "answers_per_second": round(len(people) / elapsed, 1),
        "latency_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "latency_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1),
    }


async def main(people_count: int, rounds: int) -> dict[str, object]:
    database_url, postgres_version = await fresh_database()
    sandbox_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")},
        "AFTERCARE_DATABASE_URL": database_url,
        "AFTERCARE_SANDBOX_PORT": str(sandbox_port),
        "AFTERCARE_LOG_LEVEL": "WARNING",
        "AFTERCARE_DATA_DIR": tempfile.mkdtemp(),
    }
    sandbox = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SANDBOX, str(sandbox_port), env=env
    )
    roles = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "service", role, env=env)
        for role in ("bot", "worker")
    ]
    try:
        async with SandboxClient(f"http://127.0.0.1:{sandbox_port}") as telegram:
            await telegram.wait_until_up()
            people = list(range(10_000, 10_000 + people_count))
            for person in people:
                await telegram.ensure_user(person, f"Person {person}", language_code="en")
            answers = dict.fromkeys(people, 0)
            await one_round(telegram, people[:20], answers)  # warm-up: connections, caches
            results = [await one_round(telegram, people, answers) for _ in range(rounds)]
        memory = {
            role: peak_rss_mib(p.pid) for role, p in zip(("bot", "worker"), roles, strict=True)
        }
    finally:
        for process in (*roles, sandbox):
            process.terminate()
        for process in (*roles, sandbox):
            await process.wait()
        await drop_database(database_url)
    return {
        "benchmark": "inbound_roundtrip",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "postgresql": postgres_version},
        "rounds": results,
        "median_answers_per_second": statistics.median(r["answers_per_second"] for r in results),
        "peak_rss_mib": memory,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = asyncio.run(main(args.people, args.rounds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"inbound_roundtrip-{report['at']}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201
