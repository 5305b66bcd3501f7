"""The escalation ladder (pure): who hears of an alert nobody acknowledged, and when.

A ladder is, for each severity, a list of steps. A step names its audience (the supervisors, or
everyone on call) and its time: a delay after the ladder started (the alert opened, or rose to
this severity), or a local time on the first working day (Monday to Friday) after the day it
started, in the deployment's timezone. A severity the ladder does not name does not escalate.

As data (``AFTERCARE_ALERT_LADDER``), the default is::

    {"critical": [{"after": "5m", "to": "supervisors"}, {"after": "15m", "to": "on_call"}],
     "high": [{"after": "1h", "to": "supervisors"}],
     "medium": [{"next_working_day": "09:00", "to": "supervisors"}],
     "low": []}

No SQL, no aiogram: the escalation tick asks `Ladder.due` when an alert's next step comes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

SEVERITIES: Final = ("critical", "high", "medium", "low", "info")
WORKING_DAYS: Final = frozenset(range(5))  # Monday to Friday, as date.weekday() counts
MAX_DELAY: Final = timedelta(days=30)
_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_CLOCK = re.compile(r"(?P<h>[01]\d|2[0-3]):(?P<m>[0-5]\d)")


class Audience(StrEnum):
    supervisors = "supervisors"  # active staff with the supervisor role
    on_call = "on_call"  # active staff marked on call, whatever their role


@dataclass(frozen=True)
class Step:
    """One rung: ``to`` hears of the alert ``after`` the ladder started, or at ``at`` on the
    first working day after the day it started."""

    to: Audience
    after: timedelta | None = None
    at: time | None = None  # with next_working_day

    def own_due(self, started: datetime, zone: ZoneInfo) -> datetime:
        if self.after is not None:
            return started + self.after
        assert self.at is not None
        day = next_working_day(started.astimezone(zone).date())
        return datetime.combine(day, self.at, tzinfo=zone)

    def data(self) -> dict[str, str]:
        if self.after is not None:
            return {"after": format_duration(self.after), "to": self.to.value}
        assert self.at is not None
        return {"next_working_day": self.at.strftime("%H:%M"), "to": self.to.value}


@dataclass(frozen=True)
class Ladder:
    steps: Mapping[str, tuple[Step, ...]] = field(default_factory=dict)

    def steps_for(self, severity: str) -> tuple[Step, ...]:
        return self.steps.get(severity, ())

    def due(self, severity: str, level: int, started: datetime, zone: ZoneInfo) -> datetime | None:
        """When step ``level`` (0 the first) of a ladder that started at ``started`` comes; None
        when the ladder has no such step. Never earlier than the steps before it."""
        steps = self.steps_for(severity)
        if level >= len(steps):
            return None
        return max(step.own_due(started, zone) for step in steps[: level + 1])

    def standing(self, severity: str, level: int, next_at: datetime | None) -> Standing:
        """Where an alert not yet acknowledged stands: ``level`` steps taken, and its next step
        due at ``next_at`` (the alert's ``next_escalation_at``; None when nothing is left)."""
        steps = self.steps_for(severity)
        following = steps[level] if next_at is not None and level < len(steps) else None
        return Standing(
            min(level, len(steps)), len(steps), following, next_at if following else None
        )

    def data(self) -> dict[str, list[dict[str, str]]]:
        return {severity: [step.data() for step in steps] for severity, steps in self.steps.items()}

    @classmethod
    def parse(cls, data: object) -> Ladder:
        """A ladder from its JSON form; a ValueError that says what is wrong and where."""
        if not isinstance(data, Mapping):
            raise ValueError('must be a JSON object such as {"critical": [...], "high": [...]}')
        steps: dict[str, tuple[Step, ...]] = {}
        for severity, rungs in data.items():
            if severity not in SEVERITIES:
                raise ValueError(
                    f"has an unknown severity {severity!r} (known: {', '.join(SEVERITIES)})"
                )
            if not isinstance(rungs, list):
                raise ValueError(f"{severity}: must be a list of steps")
            steps[severity] = tuple(
                _step(rung, f"{severity} step {number}") for number, rung in enumerate(rungs, 1)
            )
        return cls(steps)


@dataclass(frozen=True)
class Standing:
    """An alert's place on its ladder: the SLA clock the console shows."""

    taken: int  # steps taken so far
    steps: int  # steps at the alert's severity (0: it does not escalate)
    next_step: Step | None = None  # None: no step is left
    due: datetime | None = None  # when the next step comes

    def until(self, now: datetime) -> timedelta | None:
        """Time left before the next step (negative once it is overdue); None without one."""
        return None if self.due is None else self.due - now


def _step(data: object, where: str) -> Step:
    if not isinstance(data, Mapping):
        raise ValueError(f'{where}: must be an object such as {{"after": "5m", "to": "on_call"}}')
    unknown = set(data) - {"after", "next_working_day", "to"}
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    to = data.get("to")
    if not isinstance(to, str) or to not in {audience.value for audience in Audience}:
        known = ", ".join(audience.value for audience in Audience)
        raise ValueError(f"{where}: 'to' must be one of {known}")
    if ("after" in data) == ("next_working_day" in data):
        raise ValueError(f"{where}: needs either 'after' or 'next_working_day', not both")
    if "after" in data:
        return Step(Audience(to), after=parse_duration(data["after"], where))
    return Step(Audience(to), at=_clock(data["next_working_day"], where))


def parse_duration(value: Any, where: str = "duration") -> timedelta:
    """``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"``: positive, at most MAX_DELAY."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or not value:
        raise ValueError(f'{where}: \'after\' must be a duration such as "5m", "1h" or "1h30m"')
    parts = {unit: int(number or 0) for unit, number in match.groupdict().items()}
    delay = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    if not timedelta(0) < delay <= MAX_DELAY:
        raise ValueError(f"{where}: 'after' must be more than 0s and at most 30d")
    return delay


def format_duration(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def _clock(value: Any, where: str) -> time:
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{where}: 'next_working_day' must be a time such as \"09:00\"")
    return time(int(match["h"]), int(match["m"]))


def next_working_day(after: date) -> date:
    """The first Monday-to-Friday date after ``after``."""
    day = after + timedelta(days=1)
    while day.weekday() not in WORKING_DAYS:
        day += timedelta(days=1)
    return day


DEFAULT_LADDER: Final = Ladder.parse(
    {
        "critical": [{"after": "5m", "to": "supervisors"}, {"after": "15m", "to": "on_call"}],
        "high": [{"after": "1h", "to": "supervisors"}],
        "medium": [{"next_working_day": "09:00", "to": "supervisors"}],
        "low": [],
    }
)
