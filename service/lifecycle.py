"""Waiting that gives way to shutdown: every loop of a role stops promptly when asked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The role was asked to stop while waiting."""


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T:
    """Await ``work``, or cancel it and raise ``Stopped`` as soon as ``stop`` is set."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise Stopped
    return task.result()


async def nap(stop: asyncio.Event, seconds: float, *wake: asyncio.Event) -> None:
    """Sleep for ``seconds``, less if ``stop`` or any ``wake`` event is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in (stop, *wake)]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
