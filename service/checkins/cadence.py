"""Cadences: on which days a client hears from the bot, at what local time, and what. Pure.

A program's cadence tapers like evidence-based continuing care (McKay's weekly calls; Caring
Contacts): by default daily for the first 30 days after discharge, three times a week (Monday,
Wednesday, Friday) to day 90, weekly (Mondays) to day 365, monthly (the 1st) after. Each phase
turns a mix of touches: check-ins most days, the structured weekly check-in once a week, and on
the other days an affirmation, a self-efficacy prompt, a values reflection or an invitation to
change talk, tailored to the client's values. Sober-day milestones are marked on their day,
whatever the cadence.

The cadence adapts (`adapt`): a relapse or craving report, or a run of missed check-ins, makes it
intensive (a check-in every day for a while); a run of answered check-ins with no risk makes it
steady (the next, sparser phase's days). Each change carries the rule and facts behind it.

Times: a touch lands inside the client's window in their timezone, at a stable per-client,
per-day jitter so thousands do not fire in the same second; never in the program's quiet hours,
never in 01:00-03:00 local (where DST moves the clocks), never twice on one local date.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.clients.models import CadenceMode
from service.content.library import Category
from service.content.tailoring import Moment, milestone_on

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUESTIONS = ("open", "mood", "open", "craving", "open", "confidence")  # or a 0-10 scale
DST_GAP = (time(1), time(3))  # local hours where clocks jump or repeat: never scheduled
LOOKAHEAD_DAYS = 800  # a yearly milestone or a monthly day is always found within this


def _seconds(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


class Touch(StrEnum):
    checkin = "checkin"  # an open question or a 0-10 scale, in turn
    weekly = "weekly"  # the structured check-in (Brief Addiction Monitor themes)
    affirmation = "affirmation"
    self_efficacy = "self_efficacy"
    values_reflection = "values_reflection"
    change_talk = "change_talk"
    milestone = "milestone"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Phase(_Data):
    """Days since discharge up to ``until_day`` (exclusive; None: from then on)."""

    until_day: int | None = Field(default=None, ge=1)
    days: str  # "daily", weekdays such as "mon,wed,fri", or "monthly:1" (a day of the month)
    mix: tuple[Touch, ...] = Field(min_length=1)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        value = value.strip().lower()
        if value == "daily":
            return value
        if value.startswith("monthly:"):
            day = value.removeprefix("monthly:")
            if not day.isdigit() or not 1 <= int(day) <= 28:
                raise ValueError("monthly:N needs a day of the month from 1 to 28")
            return value
        names = [name.strip() for name in value.split(",")]
        if not names or any(name not in WEEKDAYS for name in names):
            raise ValueError("must be daily, monthly:N, or weekdays like mon,wed,fri")
        return ",".join(names)

    def is_contact_day(self, on: date) -> bool:
        kind, days = _rule(self.days)
        return on.day in days if kind == "monthly" else on.weekday() in days


@functools.cache
def _rule(days: str) -> tuple[str, frozenset[int]]:
    """A phase's days as numbers: days of the month, or weekdays (Monday 0)."""
    if days.startswith("monthly:"):
        return "monthly", frozenset({int(days.removeprefix("monthly:"))})
    if days == "daily":
        return "weekly", frozenset(range(7))
    return "weekly", frozenset(WEEKDAYS.index(name) for name in days.split(","))


class Intensive(_Data):
    days: int = Field(default=14, ge=1, le=90)  # how long an intensive spell lasts
    mix: tuple[Touch, ...] = Field(default=(Touch.checkin,) * 6 + (Touch.weekly,), min_length=1)


class Cadence(_Data):
    """A program's cadence as data (``programs.cadence``; a client's override is merged over
    it). `Cadence.parse` turns JSON into one, with an error that names the field."""

    phases: tuple[Phase, ...] = Field(min_length=1)
    intensive: Intensive = Intensive()
    steady_after_answers: int = Field(default=6, ge=1)  # answered in a row, no risk: steady
    quiet_hours: tuple[time, time] = (time(21), time(8))  # from the evening to the morning
    follow_up_after_hours: float = Field(default=6, gt=0, le=72)
    reply_window_hours: float = Field(default=24, gt=0, le=168)  # unanswered after: missed
    missed_to_intensify: int = Field(default=2, ge=1)
    missed_for_signal: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _phases_in_order(self) -> Cadence:
        ends = [phase.until_day for phase in self.phases]
        if any(end is None for end in ends[:-1]):
            raise ValueError("only the last phase may go on without an until_day")
        bounded = [end for end in ends if end is not None]
        if bounded != sorted(set(bounded)):
            raise ValueError("phases must end on increasing days")
        if self.follow_up_after_hours >= self.reply_window_hours:
            raise ValueError("the follow-up must come before the reply window closes")
        opens, closes = self.open_hours
        if _seconds(closes) - _seconds(opens) < 2 * 3600:
            raise ValueError(
                "quiet_hours run overnight (from the evening to the morning) and leave at least "
                "two hours after 03:00 to write in"
            )
        return self

    @property
    def open_hours(self) -> tuple[time, time]:
        """When clients may be written to unprompted: after quiet hours and the DST gap end,
        until quiet hours begin."""
        quiet_from, quiet_to = self.quiet_hours
        return max(quiet_to, DST_GAP[1]), quiet_from

    @classmethod
    def parse(cls, data: Mapping[str, Any], override: Mapping[str, Any] | None = None) -> Cadence:
        """A cadence from a program's data and a client's override (top-level keys replace)."""
        try:
            return cls.model_validate({**data, **(override or {})})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "cadence"
            raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def phase(self, day: int) -> int:
        """The index of the phase ``day`` days after discharge falls in."""
        for index, phase in enumerate(self.phases):
            if phase.until_day is None or day < phase.until_day:
                return index
        return len(self.phases) - 1


DEFAULT = Cadence(
    phases=(
        Phase(
            until_day=30,
            days="daily",
            mix=(
                Touch.checkin,
                Touch.affirmation,
                Touch.checkin,
                Touch.self_efficacy,
                Touch.checkin,
                Touch.values_reflection,
                Touch.weekly,
            ),
        ),
        Phase(
            until_day=90,
            days="mon,wed,fri",
            mix=(
                Touch.weekly,
                Touch.checkin,
                Touch.self_efficacy,
                Touch.weekly,
                Touch.checkin,
                Touch.change_talk,
            ),
        ),
        Phase(
            until_day=365,
            days="mon",
            mix=(Touch.weekly, Touch.checkin, Touch.affirmation, Touch.checkin),
        ),
        Phase(days="monthly:1", mix=(Touch.weekly, Touch.self_efficacy)),
    )
)


def rhythm(cadence: Cadence, mode: CadenceMode, day: int) -> Phase:
    """The days and mix in force for a mode on the ``day``-th day after discharge."""
    if mode == CadenceMode.intensive:
        return _daily(cadence.intensive.mix)
    index = cadence.phase(day)
    if mode == CadenceMode.steady:
        index = min(index + 1, len(cadence.phases) - 1)
    return cadence.phases[index]


@functools.cache
def _daily(mix: tuple[Touch, ...]) -> Phase:
    return Phase(days="daily", mix=mix)


@dataclass(frozen=True)
class Person:
    """What scheduling knows of a client: plain data."""

    key: int  # the client id: varies the jitter between people
    timezone: str
    window: tuple[time, time]
    discharge_date: date
    sobriety_date: date | None = None
    mode: CadenceMode = CadenceMode.normal


def touch_on(cadence: Cadence, person: Person, on: date, touches_so_far: int) -> Touch | None:
    """What the client hears on their date ``on``, if anything; ``touches_so_far`` turns the mix."""
    if milestone_on(person.sobriety_date, on) is not None:
        return Touch.milestone
    day = (on - person.discharge_date).days
    if day < 0:
        return None
    phase = rhythm(cadence, person.mode, day)
    if not phase.is_contact_day(on):
        return None
    return phase.mix[touches_so_far % len(phase.mix)]


def question_on(key: int, on: date) -> str:
    """A scheduled check-in's question: open questions and the three scales in turn, two days
    a step (daily check-ins come every other day), shifted per client (``key``)."""
    return QUESTIONS[(on.toordinal() // 2 + key) % len(QUESTIONS)]


def moment_for(touch: Touch, on: date, sobriety_date: date | None, question: str) -> Moment | None:
    """The library moment for a touch (``question``: "open" or a 0-10 scale, for check-ins);
    None for the weekly check-in, whose questions are the bot's own."""
    if touch == Touch.milestone:
        return Moment(Category.milestone, on, {"milestone": milestone_on(sobriety_date, on) or ""})
    if touch == Touch.checkin:
        if question == "open":
            return Moment(Category.checkin_opener, on)
        return Moment(Category.scale_question, on, {"scale": question})
    if touch == Touch.weekly:
        return None
    return Moment(Category(touch.value), on)


def is_touch_day(cadence: Cadence, person: Person, on: date) -> bool:
    return touch_on(cadence, person, on, 0) is not None


def allowed_span(cadence: Cadence, window: tuple[time, time]) -> tuple[time, time]:
    """The part of the client's window outside quiet hours and the DST gap; a window wholly
    inside them moves to the allowed hour nearest to it."""
    opens, closes = cadence.open_hours
    start, end = window
    if end <= start:
        end = time(23, 59)
    start, end = max(start, opens), min(end, closes)
    if start < end:
        return start, end
    if window[0] < opens:  # before dawn: the first allowed hour
        return opens, time(opens.hour + 1, opens.minute)
    return time(closes.hour - 1, closes.minute), closes  # late at night: the last one


def touch_time(cadence: Cadence, person: Person, on: date) -> datetime:
    """The instant (UTC) of the touch on the client's date ``on``: inside the allowed part of
    their window, at a stable jitter for this person and day."""
    start, end = allowed_span(cadence, person.window)
    span = _seconds(end) - _seconds(start)
    digest = hashlib.blake2b(f"{person.key}:{on.isoformat()}".encode(), digest_size=8).digest()
    offset = int.from_bytes(digest, "big") % max(span, 1)
    zone = ZoneInfo(person.timezone)
    start_at = datetime.combine(on, start)
    # Most zones change clocks between 01:00 and 03:00, which is never scheduled; a few change
    # later (03:00 in eastern Europe, 23:00 in Greenland). A local time the clocks skip is tried
    # again a third of the window further on; a window the clocks skip whole lands just after.
    for shift in (0, span // 3, 2 * span // 3):
        local = start_at + timedelta(seconds=(offset + shift) % max(span, 1))
        instant = local.replace(tzinfo=zone).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == local:
            break
    return instant


def next_touch(
    cadence: Cadence, person: Person, *, after: datetime, last_touch_on: date | None
) -> datetime | None:
    """The first touch strictly after ``after`` on a local date after ``last_touch_on``; None
    when none comes within the lookahead (no discharge date in sight)."""
    zone = ZoneInfo(person.timezone)
    on = after.astimezone(zone).date()
    if last_touch_on is not None and on <= last_touch_on:
        on = last_touch_on + timedelta(days=1)
    on = max(on, person.discharge_date)
    for _ in range(LOOKAHEAD_DAYS):
        if is_touch_day(cadence, person, on):
            at = touch_time(cadence, person, on)
            if at > after:
                return at
        on += timedelta(days=1)
    return None


def local_date(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def is_allowed_now(cadence: Cadence, person: Person, at: datetime) -> bool:
    """Whether ``at`` is a moment the client may be written to unprompted (not quiet hours,
    not the DST gap): follow-ups wait for one."""
    opens, closes = cadence.open_hours
    local = at.astimezone(ZoneInfo(person.timezone)).time()
    return opens <= local < closes


@dataclass(frozen=True)
class Recent:
    """What happened lately, as the planner sees it when a touch is due."""

    today: date  # the client's date
    days_since_discharge: int
    risk: str | None = None  # a relapse or craving signal since the last cadence change
    missed_in_row: int = 0
    answered_in_row: int = 0


@dataclass(frozen=True)
class Change:
    mode: CadenceMode
    until: date | None
    reason: dict[str, Any]


def adapt(cadence: Cadence, mode: CadenceMode, until: date | None, recent: Recent) -> Change | None:
    """The cadence mode the client should be in now, if it differs from ``mode`` (or an intensive
    spell is renewed); the reason names the rule and the facts."""
    return _intensify(cadence, mode, recent) or _relax(cadence, mode, until, recent)


def _intensify(cadence: Cadence, mode: CadenceMode, recent: Recent) -> Change | None:
    until = recent.today + timedelta(days=cadence.intensive.days)
    if recent.risk is not None:
        reason = {"rule": "risk reported", "signal": recent.risk, "days": cadence.intensive.days}
        return Change(CadenceMode.intensive, until, reason)
    if recent.missed_in_row == cadence.missed_to_intensify and mode != CadenceMode.intensive:
        reason = {"rule": "missed check-ins", "missed_in_row": recent.missed_in_row}
        return Change(CadenceMode.intensive, until, reason)
    return None


def _relax(
    cadence: Cadence, mode: CadenceMode, until: date | None, recent: Recent
) -> Change | None:
    if mode == CadenceMode.intensive:
        over = until is None or recent.today >= until
        return Change(CadenceMode.normal, None, {"rule": "intensive spell over"}) if over else None
    if mode == CadenceMode.steady:
        if recent.missed_in_row == 0:
            return None
        reason = {"rule": "missed a check-in", "missed_in_row": recent.missed_in_row}
        return Change(CadenceMode.normal, None, reason)
    first_phase_over = recent.days_since_discharge >= (cadence.phases[0].until_day or 0)
    if first_phase_over and recent.answered_in_row >= cadence.steady_after_answers:
        reason = {"rule": "check-ins answered, no risk", "answered_in_row": recent.answered_in_row}
        return Change(CadenceMode.steady, None, reason)
    return None
