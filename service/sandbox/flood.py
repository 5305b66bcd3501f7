"""Flood control: Telegram's sending limits (`RateLimits`) and their enforcement."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from service.sandbox.errors import too_many_requests


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood limits for sending messages. A limit set to None is not enforced;
    pass `rate_limits=None` to the server to disable them all.

    Per chat is a token bucket (`per_chat_per_second` sustained, bursts up to `per_chat_burst`);
    overall and per group are sliding windows of one second and one minute.
    """

    per_chat_per_second: float | None = 1.0
    per_chat_burst: int = 3
    overall_per_second: int | None = 30
    per_group_per_minute: int | None = 20


class FloodControl:
    """Decides whether the bot may send one more message to a chat now, or must wait."""

    def __init__(
        self, limits: RateLimits | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._overall: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}

    def reset(self) -> None:
        self._buckets.clear()
        self._overall.clear()
        self._groups.clear()

    def acquire(self, chat_id: int, is_group: bool) -> None:
        """Count one message to `chat_id`, or raise 429 (counting nothing) if it is too soon."""
        limits = self.limits
        if limits is None:
            return
        now = self._clock()
        waits: list[float] = []
        tokens = float(limits.per_chat_burst)
        if limits.per_chat_per_second is not None:
            tokens, updated_at = self._buckets.get(chat_id, (tokens, now))
            tokens = min(
                limits.per_chat_burst, tokens + (now - updated_at) * limits.per_chat_per_second
            )
            if tokens < 1:
                waits.append((1 - tokens) / limits.per_chat_per_second)
        if limits.overall_per_second is not None:
            waits.append(self._window_wait(self._overall, limits.overall_per_second, 1.0, now))
        group = self._groups.setdefault(chat_id, deque()) if is_group else None
        if group is not None and limits.per_group_per_minute is not None:
            waits.append(self._window_wait(group, limits.per_group_per_minute, 60.0, now))
        wait = max(waits, default=0.0)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        if limits.per_chat_per_second is not None:
            self._buckets[chat_id] = (tokens - 1, now)
        self._overall.append(now)
        if group is not None:
            group.append(now)

    @staticmethod
    def _window_wait(sent: deque[float], limit: int, window: float, now: float) -> float:
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) < limit:
            return 0.0
        return sent[0] + window - now
