"""Change notification: how the world wakes long polls, webhook delivery and control waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Changes:
    """Wakes everyone who waits for the world to change: long polls, webhook delivery, control
    waits. `notify()` is synchronous so world mutations can call it directly."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], within: float | None) -> bool:
        """Wait until `predicate()` holds or `within` seconds pass (None: forever); return the
        predicate."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while not predicate():
            event = self._event
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return predicate()
        return True
