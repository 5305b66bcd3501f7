"""Benchmark: delivering the outbox, within Telegram's limits and without them.

The sender runs here, as in the worker role; the sandbox Bot API runs in its own process
(`aftercare sandbox serve`), so the two do not share an event loop; PostgreSQL is
AFTERCARE_TEST_DATABASE_URL's or AFTERCARE_DATABASE_URL's server, else an embedded one, in a
database made for the run and dropped after it.

(a) The sandbox enforces Telegram's limits (30 messages a second): a backlog of scheduled
    messages drains; `rate_fraction` is the sustained rate over 30, `n_429` the flood errors.
(c) Meanwhile an urgent message (crisis or reply lane, alternately) is queued every half second;
    `urgent_p99_ms` is from its commit to the sandbox accepting it.
(b) Limits lifted (settings 0, sandbox flood control off): `pipeline_msgs_per_s` from rows
    pending to all delivered and marked sent; `bare_msgs_per_s` for a bare aiogram loop of
    `bot.send_message` calls with as many in flight; `pipeline_ratio` of the two (medians).
(d) `plan_tick_s` and `plan_rss_mb` from ops/bench/planning.py, run as a child process.

    .venv/bin/python ops/bench/delivery.py [--backlog 5000] [--messages 20000] [--rounds 3]

Prints the report, writes it to ops/bench/results/, and prints the headline figures as one JSON
object on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiogram import Bot
from inbound_roundtrip import (
    RESULTS,
    drop_database,
    free_port,
    fresh_database,
    machine,
    percentile,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from service.db import asyncpg_url, create_engine, session_factory
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.outbox.pacing import SendLimits
from service.outbox.sender import CONCURRENCY, Sender
from service.outbox.service import enqueue
from service.sandbox.client import SandboxClient
from service.telegram import SANDBOX_TOKEN, Telegram

PLANNING = Path(__file__).with_name("planning.py")
TELEGRAM_RATE = 30
CHATS = 1000  # the backlog's chats: each gets a message every ~34 s, far inside 1 a second
URGENT_EVERY = 0.5
WARM_UP = 500
TEXT = "Checking in: how are you doing today? <b>Reply</b> whenever you like."


async def main(*, backlog: int, messages: int, rounds: int, concurrency: int) -> dict[str, Any]:
    url, postgres = await fresh_database()
    engine = create_engine(asyncpg_url(url), pool_size=4)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    try:
        async with _sandbox(port) as telegram, _bot(api) as bot:
            chats = list(range(1, CHATS + 1))
            paced = await _paced(
                engine=engine,
                bot=bot,
                telegram=telegram,
                chats=chats,
                backlog=backlog,
                concurrency=concurrency,
            )
            lifted = [
                await _lifted(
                    engine=engine,
                    bot=bot,
                    telegram=telegram,
                    chats=chats,
                    messages=messages,
                    concurrency=concurrency,
                )
                for _ in range(rounds)
            ]
    finally:
        await engine.dispose()
        await drop_database(url)
    pipeline = statistics.median(r["pipeline_msgs_per_s"] for r in lifted)
    bare = statistics.median(r["bare_msgs_per_s"] for r in lifted)
    planning = await _planning()
    headline = {
        "rate_fraction": paced["rate_fraction"],
        "n_429": paced["n_429"],
        "pipeline_msgs_per_s": round(pipeline, 1),
        "bare_msgs_per_s": round(bare, 1),
        "pipeline_ratio": round(pipeline / bare, 3),
        "urgent_p99_ms": paced["urgent_p99_ms"],
        "plan_tick_s": planning.get("plan_tick_s"),
        "plan_rss_mb": planning.get("plan_rss_mb"),
    }
    return {
        "benchmark": "delivery",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "postgresql": postgres},
        "concurrency": concurrency,
        "paced": paced,
        "lifted_rounds": lifted,
        "planning": planning,
        "headline": headline,
    }


@asynccontextmanager
async def _sandbox(port: int) -> AsyncIterator[SandboxClient]:
    """`aftercare sandbox serve` in its own process, with Telegram's default limits."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")},
        "AFTERCARE_SANDBOX_PORT": str(port),
        "AFTERCARE_LOG_LEVEL": "WARNING",
        "AFTERCARE_DATA_DIR": tempfile.mkdtemp(),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "sandbox",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        async with SandboxClient(f"http://127.0.0.1:{port}", request_timeout=120) as telegram:
            await telegram.wait_until_up()
            yield telegram
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


@asynccontextmanager
async def _bot(api: str) -> AsyncIterator[Bot]:
    bot = Telegram(SANDBOX_TOKEN, api).bot()
    try:
        yield bot
    finally:
        await bot.session.close()


async def _people(telegram: SandboxClient, ids: Iterable[int]) -> list[int]:
    people = list(ids)
    for person in people:
        await telegram.ensure_user(person, f"Person {person}")
    return people


async def _backlog(engine: AsyncEngine, chats: list[int], count: int) -> None:
    """`count` scheduled messages, round robin over `chats`, pending and due."""
    rows = [
        {
            "chat_id": chat,
            "lane": int(Lane.scheduled),
            "payload": {"text": TEXT, "parse_mode": "HTML"},
        }
        for chat in itertools.islice(itertools.cycle(chats), count)
    ]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(OutboxMessage), rows)


async def _pending(engine: AsyncEngine) -> bool:
    """Whether any row is pending (cheap: polled while the sender works)."""
    async with engine.connect() as conn:
        pending: bool = await conn.scalar(
            sa.select(sa.exists().where(col(OutboxMessage.status) == OutboxStatus.pending))
        )
        return pending


async def _drain(engine: AsyncEngine, sender: Sender, *, poll: float) -> float:
    """Run the sender until nothing is pending; the seconds it took."""
    stop = asyncio.Event()
    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        group.create_task(sender.run(stop))
        while True:
            await asyncio.sleep(poll)
            if not await _pending(engine):
                break
        took = time.perf_counter() - began
        stop.set()
    return took


async def _paced(
    *,
    engine: AsyncEngine,
    bot: Bot,
    telegram: SandboxClient,
    chats: list[int],
    backlog: int,
    concurrency: int,
) -> dict[str, Any]:
    """(a) and (c): a backlog drains at Telegram's pace while urgent messages jump it."""
    await telegram.reset()
    await telegram.set_rate_limits()  # Telegram's: 30 a second, 1 a second per chat
    await _people(telegram, chats)
    # one urgent message every URGENT_EVERY s while the backlog drains at about 30 a second
    urgent_chats = await _people(telegram, range(CHATS + 1, CHATS + 11 + backlog // 10))
    await _backlog(engine, chats, backlog)
    sessions = session_factory(engine)
    queued: dict[int, float] = {}

    async def inject(stop: asyncio.Event) -> None:
        for n, chat in enumerate(urgent_chats):
            await asyncio.sleep(URGENT_EVERY)
            if stop.is_set():
                return
            lane = Lane.crisis if n % 2 == 0 else Lane.reply
            async with sessions() as session:
                await enqueue(session, chat_id=chat, text="Are you safe right now?", lane=lane)
                await session.commit()
            queued[chat] = time.time()

    sender = Sender(bot, engine, sessions, limits=SendLimits(), concurrency=concurrency)
    done = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        group.create_task(inject(done))
        took = await _drain(engine, sender, poll=0.2)
        done.set()
    calls = await telegram.calls("sendMessage")
    at = {call["params"]["chat_id"]: _at(call) for call in calls if call["ok"]}
    latencies = [at[chat] - queued[chat] for chat in queued if chat in at]
    # the rate while the backlog drained: every message accepted up to its last one
    accepted = sorted(_at(call) for call in calls if call["ok"])
    last = max(_at(call) for call in calls if call["ok"] and call["params"]["chat_id"] <= CHATS)
    during = [when for when in accepted if when <= last]
    rate = (len(during) - 1) / (last - during[0])
    return {
        "backlog": backlog,
        "urgent": len(latencies),
        "seconds": round(took, 2),
        "msgs_per_s": round(rate, 2),
        "rate_fraction": round(rate / TELEGRAM_RATE, 4),
        "n_429": sum(1 for call in calls if call["status"] == 429),
        "urgent_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "urgent_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "urgent_max_ms": round(max(latencies) * 1000, 1),
    }


async def _lifted(
    *,
    engine: AsyncEngine,
    bot: Bot,
    telegram: SandboxClient,
    chats: list[int],
    messages: int,
    concurrency: int,
) -> dict[str, float]:
    """(b): the pipeline and a bare aiogram loop, each after a warm-up, limits lifted."""
    await telegram.reset()
    await telegram.set_rate_limits(enabled=False)
    await _people(telegram, chats)
    sender = Sender(
        bot, engine, session_factory(engine), limits=SendLimits(0, 0, 0), concurrency=concurrency
    )
    await _backlog(engine, chats, WARM_UP)
    await _drain(engine, sender, poll=0.01)
    await _backlog(engine, chats, messages)
    pipeline = messages / await _drain(engine, sender, poll=0.01)
    await _bare(bot, chats, WARM_UP, concurrency)
    bare = messages / await _bare(bot, chats, messages, concurrency)
    return {"pipeline_msgs_per_s": round(pipeline, 1), "bare_msgs_per_s": round(bare, 1)}


async def _bare(bot: Bot, chats: list[int], messages: int, concurrency: int) -> float:
    """`messages` send_message calls, `concurrency` at a time; the seconds they took."""
    targets = itertools.islice(itertools.cycle(chats), messages)

    async def worker() -> None:
        for chat in targets:
            await bot.send_message(chat, TEXT, parse_mode="HTML")

    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return time.perf_counter() - began


async def _planning() -> dict[str, Any]:
    """The last line of ops/bench/planning.py's output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PLANNING), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ops/bench/planning.py failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def _at(call: dict[str, Any]) -> float:
    return datetime.fromisoformat(call["at"]).timestamp()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=5000, help="(a) scheduled messages")
    parser.add_argument("--messages", type=int, default=20000, help="(b) messages per round")
    parser.add_argument("--rounds", type=int, default=3, help="(b) rounds, medians reported")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="calls in flight")
    args = parser.parse_args()
    report = asyncio.run(
        main(
            backlog=args.backlog,
            messages=args.messages,
            rounds=args.rounds,
            concurrency=args.concurrency,
        )
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"delivery-{report['at']}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201
    print(json.dumps(report["headline"]))  # noqa: T201
