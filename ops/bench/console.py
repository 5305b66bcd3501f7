"""Benchmark: the console's pages with 10,000 clients and 1,000,000 messages in the database.

The database is a program some two years in: 10,000 clients with 50 messages from each and 50 to
each (1,000,000 in all), a check-in every few days, the signals their replies raised, and alerts
(most resolved, some open). The console runs as `aftercare web` in its own process, as deployed;
this process signs in as an admin and as a coordinator and requests each page in turn, one request
at a time, measuring the full HTTP round trip. Everything shares the machine's two cores.

    .venv/bin/python ops/bench/console.py [--clients 10000] [--requests 100]

Prints a summary and, as its last line, JSON with ``p95_ms`` per page; writes the full figures
(and the machine) to ops/bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time as timer
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbound_roundtrip import (
    RESULTS,
    drop_database,
    free_port,
    fresh_database,
    machine,
    peak_rss_mib,
    percentile,
)
from planning import HISTORY_COLUMNS  # the outbox's columns as the planner's history has them

from service.checkins.programs import seed_programs
from service.console.accounts import create_user
from service.content.library import VALUES
from service.content.service import seed_library
from service.db import _asyncpg_params, asyncpg_url, create_engine, session_factory
from service.staff.models import ConsoleRole

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "bench password 1"
MESSAGES_PER_CLIENT = 100  # 50 in, 50 out
STAFF = 20
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WORDS = (
    "Had a hard day but I went to my meeting and called my sponsor afterwards.",
    "Honestly I don't know if this is working for me.",
    "Feeling good, the kids came over on Sunday <script>alert(1)</script>",
    "I really want to keep going for my family.",
    "Not great. Cravings in the evening.",
)


def copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[Any]) -> Any:
    return conn.copy_records_to_table(table, records=rows, columns=columns)


async def load(url: str, clients: int) -> dict[str, int]:
    """The program's data, loaded with COPY."""
    conn = await asyncpg.connect(**_asyncpg_params(asyncpg_url(url)))
    try:
        await copy(
            conn,
            "staff_members",
            (
                "name",
                "role",
                "language",
                "telegram_user_id",
                "telegram_chat_id",
                "active",
                "on_call",
            ),
            [
                (f"Staff {n}", "coordinator", "en", 500_000 + n, 500_000 + n, True, n < 2)
                for n in range(STAFF)
            ],
        )
        staff = [row["id"] for row in await conn.fetch("SELECT id FROM staff_members ORDER BY id")]
        states = ("active",) * 14 + ("paused", "opted_out", "onboarding", "invited")
        rows = []
        for n in range(clients):
            discharged = NOW.date() - timedelta(days=n % 720)
            values = [VALUES[n % len(VALUES)], VALUES[(n * 7 + 3) % len(VALUES)]]
            rows.append(
                (
                    f"B{n:07d}",
                    "Alex" if n % 3 else "Ana <script>",
                    states[n % len(states)],
                    2_000_000 + n,
                    2_000_000 + n,
                    "America/New_York",
                    "en" if n % 5 else "es",
                    time(9),
                    time(12),
                    "normal",
                    n % 40,
                    0,
                    0,
                    json.dumps(values),
                    json.dumps({values[0]: "For my kids, so they can count on me."}),
                    discharged,
                    staff[n % STAFF],
                    NOW + timedelta(minutes=n % 1440),
                )
            )
        await copy(
            conn,
            "clients",
            (
                "code",
                "first_name",
                "state",
                "telegram_user_id",
                "telegram_chat_id",
                "timezone",
                "language",
                "checkin_window_start",
                "checkin_window_end",
                "cadence_mode",
                "touches",
                "missed_in_row",
                "answered_in_row",
                "values",
                "reasons",
                "discharge_date",
                "coordinator_id",
                "next_checkin_at",
            ),
            rows,
        )
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM clients ORDER BY id")]
        versions = [row["id"] for row in await conn.fetch("SELECT id FROM template_versions")]
        half = MESSAGES_PER_CLIENT // 2
        update_id = 0
        for start in range(0, len(ids), 1_000):
            inbound, outbound, checkins = [], [], []
            for client_id in ids[start : start + 1_000]:
                for k in range(half):
                    at = NOW - timedelta(days=k * 7 + client_id % 7, minutes=client_id % 600)
                    update_id += 1
                    inbound.append(
                        (
                            update_id,
                            2_000_000 + client_id,
                            2_000_000 + client_id,
                            client_id,
                            "text",
                            WORDS[(client_id + k) % len(WORDS)],
                            at,
                            at,
                        )
                    )
                    outbound.append(
                        (
                            3,
                            "sent",
                            2_000_000 + client_id,
                            "sendMessage",
                            json.dumps({"text": "How has this week been for you?"}),
                            client_id,
                            versions[(client_id + k) % len(versions)],
                            json.dumps({"on": at.date().isoformat()}),
                            1,
                            at - timedelta(hours=1),
                            at - timedelta(hours=1),
                            at - timedelta(hours=1),
                        )
                    )
                    if k % 2 == 0:
                        sent = at - timedelta(hours=1)
                        checkins.append(
                            (
                                client_id,
                                "open_question",
                                "answered" if k % 6 else "missed",
                                sent.date(),
                                sent,
                                sent,
                                at if k % 6 else None,
                                "{}",
                            )
                        )
            await copy(
                conn,
                "inbound_messages",
                (
                    "update_id",
                    "telegram_user_id",
                    "chat_id",
                    "client_id",
                    "kind",
                    "text",
                    "sent_at",
                    "received_at",
                ),
                inbound,
            )
            await copy(conn, "outbox_messages", HISTORY_COLUMNS, outbound)
            await copy(
                conn,
                "checkins",
                (
                    "client_id",
                    "kind",
                    "status",
                    "local_date",
                    "scheduled_for",
                    "sent_at",
                    "answered_at",
                    "answers",
                ),
                checkins,
            )
        # Signals from every fifth reply, and an alert for one client in ten (one in eight of
        # them still open).
        await conn.execute(
            """
            INSERT INTO signals (client_id, inbound_message_id, kind, severity, evidence,
                                 created_at)
            SELECT client_id, id, 'craving', 'medium',
                   '{"matched": ["cravings"]}'::jsonb, received_at
            FROM inbound_messages WHERE id % 5 = 0
            """
        )
        await conn.execute(
            """
            INSERT INTO alerts (client_id, kind, severity, status, summary, assigned_staff_id,
                                escalation_level, opened_at, acknowledged_at, resolved_at,
                                escalation_started_at)
            SELECT c.id, k.kind, k.severity,
                   CASE WHEN c.id % 80 = 0 THEN 'open'
                        WHEN c.id % 80 = 10 THEN 'acknowledged' ELSE 'resolved' END,
                   'strong craving', c.coordinator_id, 0,
                   now() - (c.id % 90) * interval '1 day',
                   CASE WHEN c.id % 80 = 0 THEN NULL
                        ELSE now() - (c.id % 90) * interval '1 day' + interval '25 minutes' END,
                   CASE WHEN c.id % 80 IN (0, 10) THEN NULL
                        ELSE now() - (c.id % 90) * interval '1 day' + interval '2 hours' END,
                   now() - (c.id % 90) * interval '1 day'
            FROM clients c
            CROSS JOIN LATERAL (SELECT (ARRAY['craving','relapse','self_harm','help_request'])
                                       [1 + c.id % 4] AS kind,
                                       (ARRAY['medium','high','critical','high'])[1 + c.id % 4]
                                       AS severity) k
            WHERE c.id % 10 = 0
            """
        )
        await conn.execute(
            """
            INSERT INTO alert_events (alert_id, kind, staff_member_id, detail, created_at)
            SELECT id, 'opened', NULL, '{}'::jsonb, opened_at FROM alerts
            UNION ALL
            SELECT id, 'acknowledged', assigned_staff_id, '{}'::jsonb, acknowledged_at
            FROM alerts WHERE acknowledged_at IS NOT NULL
            """
        )
        await conn.execute("ANALYZE")
        counts = {}
        for table in ("clients", "inbound_messages", "outbox_messages", "checkins", "signals"):
            counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        counts["alerts"] = await conn.fetchval("SELECT count(*) FROM alerts")
        counts["open_alerts"] = await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE status <> 'resolved'"
        )
        return counts
    finally:
        await conn.close()


async def users(url: str) -> int:
    """An admin, and a coordinator linked to the staff member of the first open alert's client
    (so both open the same alert); that member's id."""
    engine = create_engine(asyncpg_url(url))
    try:
        async with session_factory(engine)() as session:
            staff_id = await session.scalar(
                sa.text(
                    "SELECT c.coordinator_id FROM alerts a JOIN clients c ON c.id = a.client_id"
                    " WHERE a.status = 'open' ORDER BY a.id LIMIT 1"
                )
            )
            await create_user(
                session, email="admin@bench.test", role=ConsoleRole.admin, password=PASSWORD
            )
            await create_user(
                session,
                email="coordinator@bench.test",
                role=ConsoleRole.coordinator,
                password=PASSWORD,
                staff_member_id=staff_id,
            )
        return int(staff_id)
    finally:
        await engine.dispose()


async def sign_in(web: httpx.AsyncClient, email: str) -> None:
    page = await web.get("/login")
    found = CSRF.search(page.text)
    assert found is not None, "no sign-in form"
    signed = await web.post(
        "/login",
        data={"csrf_token": found.group(1), "email": email, "password": PASSWORD, "next": ""},
    )
    assert signed.status_code == 303, f"sign-in failed: {signed.status_code}"


async def pages(url: str, coordinator: int) -> dict[str, str]:
    """The pages measured, with real ids: an open alert, a client with a full history."""
    conn = await asyncpg.connect(**_asyncpg_params(asyncpg_url(url)))
    try:
        alert = await conn.fetchval("SELECT min(id) FROM alerts WHERE status = 'open'")
        client = await conn.fetchval(
            "SELECT min(id) FROM clients WHERE state = 'active' AND coordinator_id = $1",
            coordinator,
        )
        template = await conn.fetchval("SELECT min(id) FROM templates")
    finally:
        await conn.close()
    return {
        "home": "/console",
        "alerts": "/console/alerts",
        "alerts_all": "/console/alerts?status=all",
        "alert": f"/console/alerts/{alert}",
        "clients": "/console/clients",
        "clients_by_reply": "/console/clients?sort=last_reply",
        "clients_search": "/console/clients?q=b00042",
        "clients_filtered": "/console/clients?state=active&risk=any&replied=older",
        "client": f"/console/clients/{client}",
        "client_preview": f"/console/clients/{client}/preview",
        "templates": "/console/templates",
        "template": f"/console/templates/{template}",
        "team": "/console/team",
        "engagement": "/console/engagement",
        "engagement_csv": "/console/engagement.csv?table=response",
    }


async def measure(web: httpx.AsyncClient, path: str, requests: int) -> tuple[dict[str, float], int]:
    for _ in range(3):  # warm the process's caches and PostgreSQL's
        await web.get(path)
    timings = []
    status = 0
    for _ in range(requests):
        started = timer.perf_counter()
        response = await web.get(path)
        timings.append((timer.perf_counter() - started) * 1000)
        status = response.status_code
    return {
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "p99_ms": round(percentile(timings, 0.99), 1),
        "max_ms": round(max(timings), 1),
    }, status


async def main(clients: int, requests: int, keep: bool) -> dict[str, Any]:
    url, postgres = await fresh_database()
    engine = create_engine(asyncpg_url(url))
    await seed_programs(engine)
    await seed_library(engine)
    await engine.dispose()
    loading = timer.perf_counter()
    counts = await load(url, clients)
    loaded_s = timer.perf_counter() - loading
    coordinator = await users(url)
    port = free_port()
    env = {
        **os.environ,
        "AFTERCARE_DATABASE_URL": url,
        "AFTERCARE_WEB_HOST": "127.0.0.1",
        "AFTERCARE_WEB_PORT": str(port),
        "AFTERCARE_LOG_LEVEL": "WARNING",
    }
    web_role = subprocess.Popen(  # noqa: ASYNC220 (started once, waited on below)
        [str(ROOT / ".venv" / "bin" / "aftercare"), "web"], env=env, cwd=ROOT
    )
    results: dict[str, Any] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as probe:
            for _ in range(300):
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        measured = await pages(url, coordinator)
        for email, role in (("admin@bench.test", "admin"), ("coordinator@bench.test", "coord")):
            async with httpx.AsyncClient(base_url=base, timeout=30) as web:
                await sign_in(web, email)
                for name, path in measured.items():
                    if role == "coord" and name.startswith("template"):
                        continue  # admins only
                    figures, status = await measure(web, path, requests)
                    results[f"{role}:{name}"] = {"path": path, "status": status, **figures}
                    print(  # noqa: T201
                        f"{role:5} {name:17} {status} p50 {figures['p50_ms']:7.1f} ms  "
                        f"p95 {figures['p95_ms']:7.1f} ms  p99 {figures['p99_ms']:7.1f} ms",
                        flush=True,
                    )
        rss = peak_rss_mib(web_role.pid)
    finally:
        web_role.terminate()
        web_role.wait(timeout=30)
        if not keep:
            await drop_database(url)
    return {
        "benchmark": "console",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "postgresql": postgres},
        "data": counts,
        "load_s": round(loaded_s, 1),
        "requests_per_page": requests,
        "web_rss_mb": rss,
        "pages": results,
        "p95_ms": {name: page["p95_ms"] for name, page in results.items()},
        "slowest_p95_ms": max(page["p95_ms"] for page in results.values()),
        "not_ok": sorted(name for name, page in results.items() if page["status"] != 200),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100, help="per page and user")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    args = parser.parse_args()
    report = asyncio.run(main(args.clients, args.requests, args.keep))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = report["at"].replace(":", "")
    (RESULTS / f"console-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(  # noqa: T201
        json.dumps(
            {
                "p95_ms": report["p95_ms"],
                "slowest_p95_ms": report["slowest_p95_ms"],
                "not_ok": report["not_ok"],
            }
        )
    )
