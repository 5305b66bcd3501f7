"""The worker's ticks: run at once and then on their interval, never two of one id at a time, a
failure logged and run again, and on stop the running ones finish."""

from __future__ import annotations

import asyncio

import pytest

from service.scheduler import Tick, Ticker


async def test_ticks_repeat_survive_a_failure_and_finish_when_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: dict[str, int] = {"steady": 0, "flaky": 0, "slow": 0}
    running_at_once = 0
    most_at_once = 0
    finished_slow = 0
    second_slow_run = asyncio.Event()

    async def steady() -> int:
        runs["steady"] += 1
        return 0

    async def flaky() -> int:
        runs["flaky"] += 1
        if runs["flaky"] == 1:
            raise RuntimeError("the database went away")
        return 1

    async def slow() -> int:
        nonlocal running_at_once, most_at_once, finished_slow
        runs["slow"] += 1
        if runs["slow"] == 2:
            second_slow_run.set()
        running_at_once += 1
        most_at_once = max(most_at_once, running_at_once)
        await asyncio.sleep(0.2)  # longer than its interval
        running_at_once -= 1
        finished_slow += 1
        return 0

    stop = asyncio.Event()
    ticker = Ticker(
        [Tick("steady", 0.02, steady), Tick("flaky", 0.02, flaky), Tick("slow", 0.05, slow)]
    )
    running = asyncio.get_running_loop().create_task(ticker.run(stop))
    await asyncio.wait_for(second_slow_run.wait(), 2)
    stop.set()  # in the middle of the slow tick's second run
    await asyncio.wait_for(running, 2)
    assert runs["steady"] >= 5 and runs["flaky"] >= 3  # again after the failure
    assert "tick flaky failed" in caplog.text
    assert most_at_once == 1  # never two runs of one tick at once
    assert finished_slow == runs["slow"] == 2  # the run under way when stopped finished
