"""Pacing: when the sender may make its next call, so that Telegram never has to answer 429.

Pure (no I/O, the clock is injected). Telegram's limits are about messages: overall per second,
per chat per second, per group per minute. Calls that put no message in a chat
(``UNPACED_METHODS``) are not paced at all, so that a button's spinner stops at once.

Overall and per chat the calls are spread evenly rather than sent in bursts: a burst would fill
the second and make an urgent message that arrives just after it wait for the next one.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.config import Settings

UNPACED_METHODS = frozenset({"answerCallbackQuery", "setMyCommands"})
MARGIN = 0.03
"""Telegram counts arrivals, we count departures: periods 3% longer than Telegram's absorb the
network's jitter."""
TOLERANCE = 0.005
"""A call booked up to this many seconds after its slot keeps the schedule (the next call comes
sooner), so that a dispatcher busy for a moment does not lower the rate."""
GROUP_WINDOW = 60.0 * (1 + MARGIN)


@dataclass(frozen=True)
class SendLimits:
    """Telegram's limits as the sender keeps them; 0 means no limit."""

    per_second: float = 30
    per_chat_per_second: float = 1
    per_group_per_minute: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimits:
        return cls(
            per_second=settings.send_per_second,
            per_chat_per_second=settings.send_per_chat_per_second,
            per_group_per_minute=settings.send_per_group_per_minute,
        )


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; people have positive ones."""
    return chat_id < 0


class Pacer:
    """Books each call a time to go: evenly spaced overall, one at a time per chat, a limited
    number per minute per group, and nothing to a chat Telegram told to wait (`hold`)."""

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._spacing = _period(limits.per_second)
        self._chat_spacing = _period(limits.per_chat_per_second)
        self._next_slot = -math.inf  # when the next call may go
        self._chat_ready: dict[int, float] = {}  # chat -> when it may have its next message
        self._groups: dict[int, deque[float]] = {}  # group -> its messages in the last window
        # chat -> (until when, from which lane): a call to try again holds back its chat's calls
        # of that lane and less urgent ones, never more urgent ones (a crisis answer).
        self._lane_holds: dict[int, tuple[float, int]] = {}

    def book(self, chat_id: int, method: str, lane: int = 0) -> float | None:
        """Book a call: the seconds to wait before making it, or None if its chat (or its lane in
        that chat) must wait (leave the call for later; nothing is booked)."""
        if method in UNPACED_METHODS:
            return 0.0
        now = self._clock()
        if self._wait(chat_id, now) > 0:
            return None
        until, from_lane = self._lane_holds.get(chat_id, (now, lane))
        if until > now and lane >= from_lane:
            return None
        slot = max(now, self._next_slot)
        if self._spacing:
            on_schedule = now - self._next_slot <= TOLERANCE
            self._next_slot = (self._next_slot if on_schedule else slot) + self._spacing
        if self._chat_spacing:
            self._chat_ready[chat_id] = slot + self._chat_spacing
        if is_group(chat_id) and self.limits.per_group_per_minute:
            self._groups.setdefault(chat_id, deque()).append(slot)
        return slot - now

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait `seconds` before writing to this chat again."""
        ready = self._clock() + seconds
        self._chat_ready[chat_id] = max(ready, self._chat_ready.get(chat_id, ready))

    def hold_lane(self, chat_id: int, seconds: float, lane: int) -> None:
        """A call of `lane` to this chat will be tried again in `seconds`: until then the chat's
        calls of that lane and less urgent ones wait for it (none overtakes it); more urgent
        ones still go."""
        ready = self._clock() + seconds
        until, from_lane = self._lane_holds.get(chat_id, (ready, lane))
        self._lane_holds[chat_id] = (max(ready, until), min(lane, from_lane))

    def waiting_chats(self) -> list[int]:
        """Chats that may not have a message now (their calls are left for later); chats that
        may have one again are forgotten, so memory stays bounded."""
        now = self._clock()
        self._forget(now)
        return [chat for chat in {*self._chat_ready, *self._groups} if self._wait(chat, now) > 0]

    def next_ready(self) -> float | None:
        """Seconds until the first waiting chat may have a message again (None: none waits)."""
        now = self._clock()
        waits = [self._wait(chat, now) for chat in {*self._chat_ready, *self._groups}]
        return min((wait for wait in waits if wait > 0), default=None)

    def _wait(self, chat_id: int, now: float) -> float:
        wait = self._chat_ready.get(chat_id, now) - now
        group = self._groups.get(chat_id)
        if group is not None and len(group) >= self.limits.per_group_per_minute:
            wait = max(wait, group[-self.limits.per_group_per_minute] + GROUP_WINDOW - now)
        return wait

    def _forget(self, now: float) -> None:
        for chat in [chat for chat, ready in self._chat_ready.items() if ready <= now]:
            del self._chat_ready[chat]
        for chat in [chat for chat, (until, _) in self._lane_holds.items() if until <= now]:
            del self._lane_holds[chat]
        for chat, sent in list(self._groups.items()):
            while sent and sent[0] <= now - GROUP_WINDOW:
                sent.popleft()
            if not sent:
                del self._groups[chat]


def _period(per_second: float) -> float:
    """Seconds between two calls at `per_second` (0: no limit), lengthened by MARGIN."""
    return (1 + MARGIN) / per_second if per_second else 0.0
