"""Waiting in tests for work that other tasks finish (the sender marking a row sent, say)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], expected: T, within: float = 5.0) -> T:
    """Call ``probe`` until it returns ``expected``; fail with the last value after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if value == expected:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"still {value!r} after {within}s, expected {expected!r}")
        await asyncio.sleep(0.02)
