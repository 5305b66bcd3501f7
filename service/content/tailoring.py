"""Tailoring: which template a client hears at a moment, and why. Pure.

A moment asks for a category (and, for some, a scale and band, a milestone, an alert kind). Among
the templates in the client's language that fit it and their stage of change, value-specific ones
speak to the value the client has heard least about lately; nothing they heard in the last 30
days is repeated while the library has something else; recent signals steer change talk (after
sustain talk, preparatory change talk such as desire and reasons, not commitment). The choice
among equals is varied but deterministic (the same client, day and moment give the same message),
and the reason records every step, so staff can see why a message was sent.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from service.content.library import Category, Meta

NO_REPEAT_DAYS = 30
PREPARATORY = frozenset({"desire", "ability", "reasons", "need"})
MOBILIZING = frozenset({"commitment", "activation", "taking_steps"})
MILESTONE_DAYS = (1, 7, 30, 60, 90, 180, 365)

VALUE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "family": "family",
        "health": "health",
        "work": "work",
        "faith": "faith",
        "friendship": "friendship",
        "freedom": "freedom",
        "creativity": "creativity",
        "learning": "learning",
        "nature": "nature",
        "helping_others": "helping others",
    },
    "es": {
        "family": "familia",
        "health": "salud",
        "work": "trabajo",
        "faith": "fe",
        "friendship": "amistad",
        "freedom": "libertad",
        "creativity": "creatividad",
        "learning": "aprender",
        "nature": "naturaleza",
        "helping_others": "ayudar a otros",
    },
}


@dataclass(frozen=True)
class Profile:
    """What tailoring knows of a client: plain data, no names."""

    client_id: int
    language: str
    values: tuple[str, ...] = ()
    stage: str | None = None
    days_since_discharge: int | None = None
    recent_signals: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Moment:
    category: Category
    on: date  # the client's local date
    extras: Mapping[str, str] = field(default_factory=dict)  # e.g. scale and band


class Heard(NamedTuple):
    """A template the client received, and the value it spoke to (a tuple: the planner reads a
    month of them for every client it plans)."""

    template_id: str
    on: date
    value: str | None = None


@dataclass(frozen=True)
class Choice:
    meta: Meta
    value: str | None
    reason: dict[str, Any]


@dataclass(frozen=True)
class Candidates:
    """The templates that fit a moment for a kind of client, and how they were narrowed: the
    same for every client of one language, values and stage (the planner reuses them)."""

    pool: tuple[Meta, ...]
    reason: Mapping[str, Any]


def choose(
    library: Sequence[Meta], profile: Profile, moment: Moment, history: Sequence[Heard]
) -> Choice | None:
    """The template for this client and moment, or None if the library has nothing that fits."""
    found = candidates(library, profile, moment)
    return pick(found, profile, moment, history) if found is not None else None


def candidates(library: Sequence[Meta], profile: Profile, moment: Moment) -> Candidates | None:
    """What fits the moment (category and extras), in the client's language (else English),
    speaking to their values or to anyone, suited to their stage if anything is."""
    reason: dict[str, Any] = {"category": moment.category.value, **moment.extras}
    fitting = [meta for meta in library if meta.category == moment.category]
    if moment.extras:
        fitting = [
            meta
            for meta in fitting
            if all(meta.extras.get(key) == wanted for key, wanted in moment.extras.items())
        ]
    pool = [meta for meta in fitting if meta.language == profile.language]
    reason["language"] = profile.language
    if not pool:
        pool = [meta for meta in fitting if meta.language == "en"]
        reason["language"] = f"en (nothing in {profile.language})"
    pool = [meta for meta in pool if not meta.values or meta.values[0] in profile.values]
    if not pool:
        return None
    suited = [
        meta
        for meta in pool
        if profile.stage is None or not meta.stages or profile.stage in meta.stages
    ]
    if profile.stage is not None:
        reason["stage"] = profile.stage if suited else f"{profile.stage} (no template for it)"
    return Candidates(tuple(suited or pool), reason)


def pick(found: Candidates, profile: Profile, moment: Moment, history: Sequence[Heard]) -> Choice:
    """Among the candidates, the one for this client now, by what they heard lately."""
    pool: Sequence[Meta] = found.pool
    reason = dict(found.reason)
    value = _value_to_address(profile, history, pool)
    if value is not None:
        reason["value"] = value
        reason["value_why"] = "the value they have heard least about lately"
        pool = [meta for meta in pool if not meta.values or meta.values[0] == value]
    last_heard = _last_heard(history)
    cutoff = moment.on - timedelta(days=NO_REPEAT_DAYS)
    fresh = [meta for meta in pool if last_heard.get(meta.id, date.min) <= cutoff]
    reason["candidates"] = len(pool)
    reason["heard_recently"] = len(pool) - len(fresh)
    if not fresh:
        oldest = min(pool, key=lambda meta: (last_heard.get(meta.id, date.min), meta.id))
        reason["picked"] = "every fitting template was heard in the last 30 days: the oldest"
        return Choice(oldest, _spoken_value(oldest), reason)

    scored = sorted(
        ((_score(meta, profile, value), meta) for meta in fresh), key=lambda item: -item[0]
    )
    best = [meta for score, meta in scored if score == scored[0][0]]
    unheard = [meta for meta in best if meta.id not in last_heard]
    best = unheard or best
    picked = best[_spread(profile.client_id, moment, len(best))]
    reason["picked"] = f"one of {len(best)} equally fitting templates " + (
        "never heard" if unheard else "not heard in 30 days"
    )
    if moment.category is Category.change_talk and picked.extras.get("darn_cat"):
        reason["darn_cat"] = picked.extras["darn_cat"]
    return Choice(picked, _spoken_value(picked), reason)


def _value_to_address(
    profile: Profile, history: Sequence[Heard], pool: Sequence[Meta]
) -> str | None:
    """Of the client's values that the pool speaks to, the one heard about least recently."""
    spoken = {meta.values[0] for meta in pool if meta.values}
    candidates = [value for value in profile.values if value in spoken]
    if not candidates:
        return None
    last: dict[str, date] = {}
    for heard in history:
        if heard.value is not None and heard.on > last.get(heard.value, date.min):
            last[heard.value] = heard.on
    return min(
        candidates, key=lambda value: (last.get(value, date.min), profile.values.index(value))
    )


def _score(meta: Meta, profile: Profile, value: str | None) -> float:
    score = 2.0 if value is not None and meta.values == (value,) else 1.0
    if profile.stage is not None and profile.stage in meta.stages:
        score += 0.5  # written for this stage, not merely suitable for any
    darn_cat = meta.extras.get("darn_cat")
    if darn_cat is not None:
        if "sustain_talk" in profile.recent_signals:
            score += 0.5 if darn_cat in PREPARATORY else 0.0
        elif profile.stage in {"preparation", "action", "maintenance"}:
            score += 0.5 if darn_cat in MOBILIZING else 0.0
    return score


def _last_heard(history: Sequence[Heard]) -> dict[str, date]:
    last: dict[str, date] = {}
    for heard in history:
        if heard.on > last.get(heard.template_id, date.min):
            last[heard.template_id] = heard.on
    return last


def _spoken_value(meta: Meta) -> str | None:
    return meta.values[0] if meta.values else None


def _spread(client_id: int, moment: Moment, count: int) -> int:
    """A stable pick among ``count`` equals, different for each client, day and moment."""
    key = f"{client_id}:{moment.on.isoformat()}:{moment.category}:{sorted(moment.extras.items())}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count


def milestone_on(sobriety_date: date | None, on: date) -> str | None:
    """The sober-day milestone that falls on ``on`` ("1", "7", ... "365", "yearly"), if any."""
    if sobriety_date is None or on <= sobriety_date:
        return None
    days = (on - sobriety_date).days
    if days in MILESTONE_DAYS:
        return str(days)
    if on.year - sobriety_date.year >= 2 and on == _anniversary(sobriety_date, on.year):
        return "yearly"
    return None


def _anniversary(of: date, year: int) -> date:
    """``of``'s date in ``year``; a 29 February falls on the 28th in other years."""
    leap_day_lost = (of.month, of.day) == (2, 29) and not calendar.isleap(year)
    return date(year, 2, 28) if leap_day_lost else of.replace(year=year)


def next_milestone(days_sober: int | None) -> int | None:
    """The next sober-day milestone, in days."""
    if days_sober is None or days_sober < 0:
        return None
    for days in MILESTONE_DAYS:
        if days > days_sober:
            return days
    return (days_sober // 365 + 1) * 365
