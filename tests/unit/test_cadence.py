"""Cadence: the days, the local times and the mix of touches, and how they adapt."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.checkins.cadence import (
    DEFAULT,
    DST_GAP,
    Cadence,
    Person,
    Recent,
    Touch,
    adapt,
    allowed_span,
    is_allowed_now,
    local_date,
    next_touch,
    question_on,
    touch_on,
    touch_time,
)
from service.clients.models import CadenceMode

FIRST, LAST = datetime(2026, 1, 1), datetime(2028, 6, 1)  # noqa: DTZ001 (hypothesis wants naive)
ZONES = sorted(available_timezones() - {"Factory", "localtime"})
DISCHARGE = date(2026, 1, 5)
WINDOWS = st.tuples(st.integers(0, 23), st.integers(1, 12)).map(
    lambda start_and_hours: (
        time(start_and_hours[0]),
        time(min(23, start_and_hours[0] + start_and_hours[1]), 0 if start_and_hours[1] else 59),
    )
)
people = st.builds(
    Person,
    key=st.integers(1, 10**6),
    timezone=st.sampled_from(ZONES),
    window=WINDOWS,
    discharge_date=st.dates(date(2025, 6, 1), date(2027, 6, 1)),
    sobriety_date=st.none()
    | st.just(date(2024, 2, 29))
    | st.dates(date(2024, 1, 1), date(2027, 6, 1)),
    mode=st.sampled_from(CadenceMode),
)


def schedule(person: Person, start: datetime, count: int) -> list[datetime]:
    """Touch after touch, as the planner advances ``next_checkin_at``."""
    times: list[datetime] = []
    after, last = start, None
    for _ in range(count):
        at = next_touch(DEFAULT, person, after=after, last_touch_on=last)
        assert at is not None
        times.append(at)
        after, last = at, local_date(at, person.timezone)
    return times


@settings(max_examples=150, deadline=None)
@given(person=people, start=st.datetimes(FIRST, LAST))
def test_never_two_touches_on_one_local_date_and_never_in_the_dst_gap(
    person: Person, start: datetime
) -> None:
    times = schedule(person, start.replace(tzinfo=UTC), 40)
    dates = [local_date(at, person.timezone) for at in times]
    assert len(set(dates)) == len(dates)
    assert dates == sorted(dates)
    assert times == sorted(times)
    for at in times:
        local = at.astimezone(ZoneInfo(person.timezone)).time()
        assert not DST_GAP[0] <= local < DST_GAP[1]


@settings(max_examples=150, deadline=None)
@given(person=people, on=st.dates(date(2026, 1, 1), date(2028, 12, 31)))
def test_a_touch_is_inside_the_allowed_part_of_the_window_and_never_in_quiet_hours(
    person: Person, on: date
) -> None:
    start, end = allowed_span(DEFAULT, person.window)
    at = touch_time(DEFAULT, person, on)
    local = at.astimezone(ZoneInfo(person.timezone))
    if local.replace(tzinfo=None) == datetime.combine(on, local.time()) and start <= local.time():
        assert local.time() < end  # the usual case: on the day, inside the window
    else:  # the clocks skipped the whole window that day: just after the change, same date
        assert local.date() == on
    assert is_allowed_now(DEFAULT, person, at) or local.time() >= DEFAULT.open_hours[1]
    window_start, window_end = person.window
    overlaps = max(window_start, DEFAULT.open_hours[0]) < min(window_end, DEFAULT.open_hours[1])
    if overlaps:
        assert (start, end) == (
            max(window_start, DEFAULT.open_hours[0]),
            min(window_end, DEFAULT.open_hours[1]),
        )


def test_clock_changes_in_every_zone_never_move_a_touch_off_its_date_or_into_the_gap() -> None:
    """Every transition day of 2026-2027 in every zone, for windows all through the day."""
    checked = 0
    for name in ZONES:
        zone = ZoneInfo(name)
        for day in _transition_days(zone):
            for hour in range(0, 24, 2):
                person = Person(7, name, (time(hour), time(min(23, hour + 2))), DISCHARGE)
                local = touch_time(DEFAULT, person, day).astimezone(zone)
                assert local.date() == day, (name, day, hour)
                assert not DST_GAP[0] <= local.time() < DST_GAP[1]
                checked += 1
    assert checked > 9_000


def _transition_days(zone: ZoneInfo) -> list[date]:
    """The local dates around each change of UTC offset (sampled daily)."""
    days, at = [], datetime(2026, 1, 1, 12, tzinfo=UTC)
    offset = at.astimezone(zone).utcoffset()
    while at.year < 2028:
        at += timedelta(days=1)
        if at.astimezone(zone).utcoffset() != offset:
            offset = at.astimezone(zone).utcoffset()
            local = at.astimezone(zone).date()
            days += [local - timedelta(days=1), local]
    return days


@pytest.mark.parametrize(
    ("day", "offset"),
    [(date(2026, 3, 8), timedelta(hours=-4)), (date(2026, 11, 1), timedelta(hours=-5))],
)
@pytest.mark.parametrize(
    "window", [(time(0), time(4)), (time(1), time(3)), (time(8), time(12)), (time(20), time(23))]
)
def test_new_york_on_its_dst_dates(day: date, offset: timedelta, window: tuple[time, time]) -> None:
    person = Person(42, "America/New_York", window, day - timedelta(days=5))  # daily phase
    before = datetime.combine(day - timedelta(days=1), time(12), tzinfo=ZoneInfo(person.timezone))
    times = schedule(person, before.astimezone(UTC), 3)
    on_the_day = [at for at in times if local_date(at, person.timezone) == day]
    assert len(on_the_day) == 1
    local = on_the_day[0].astimezone(ZoneInfo(person.timezone))
    assert local.utcoffset() == offset  # after the change: EDT in March, EST in November
    assert time(8) <= local.time() < time(21)  # outside the gap and quiet hours
    start, end = allowed_span(DEFAULT, window)
    assert start <= local.time() < end


def test_jitter_spreads_a_thousand_clients_over_the_window() -> None:
    day = date(2026, 6, 1)
    times = [
        touch_time(DEFAULT, Person(key, "America/Chicago", (time(9), time(12)), DISCHARGE), day)
        for key in range(1000)
    ]
    per_second = Counter(times)
    assert max(per_second.values()) <= 4  # 1,000 people in 10,800 seconds
    per_quarter_hour = Counter(at.replace(minute=at.minute // 15 * 15, second=0) for at in times)
    assert len(per_quarter_hour) == 12  # all of 09:00-12:00
    assert max(per_quarter_hour.values()) < 3 * 1000 / 12
    again = touch_time(DEFAULT, Person(5, "America/Chicago", (time(9), time(12)), DISCHARGE), day)
    assert again == times[5]  # stable: a restart plans the same instant


def test_the_default_program_tapers_daily_then_three_a_week_then_weekly_then_monthly() -> None:
    person = Person(3, "Europe/Madrid", (time(9), time(12)), DISCHARGE)
    start = datetime.combine(DISCHARGE, time(0), tzinfo=ZoneInfo(person.timezone))
    dates = [local_date(at, person.timezone) for at in schedule(person, start, 200)]
    days = [(on - DISCHARGE).days for on in dates]
    first_month = [on for on, day in zip(dates, days, strict=True) if day < 30]
    to_90 = [on for on, day in zip(dates, days, strict=True) if 30 <= day < 90]
    to_365 = [on for on, day in zip(dates, days, strict=True) if 90 <= day < 365]
    after = [on for on, day in zip(dates, days, strict=True) if day >= 365]
    assert len(first_month) == 30
    assert {on.weekday() for on in to_90} == {0, 2, 4} and 24 <= len(to_90) <= 27
    mondays = sum((DISCHARGE + timedelta(days=day)).weekday() == 0 for day in range(90, 365))
    assert {on.weekday() for on in to_365} == {0} and len(to_365) == mondays
    assert {on.day for on in after} == {1}


def test_the_mix_is_mostly_check_ins_with_the_weekly_one_once_a_week() -> None:
    person = Person(3, "UTC", (time(9), time(12)), DISCHARGE)
    touches = [touch_on(DEFAULT, person, DISCHARGE + timedelta(days=n), n) for n in range(28)]
    counted = Counter(touches)
    assert counted[Touch.weekly] == 4
    assert counted[Touch.checkin] + counted[Touch.weekly] > 14
    assert {Touch.affirmation, Touch.self_efficacy} <= set(counted)


def test_milestones_are_touches_whatever_the_cadence() -> None:
    sober = date(2025, 3, 1)
    person = Person(3, "UTC", (time(9), time(12)), date(2025, 3, 20), sober)
    day_180 = sober + timedelta(days=180)  # a Thursday, not a contact day 130 days out
    assert touch_on(DEFAULT, person, day_180, 0) == Touch.milestone
    assert touch_on(DEFAULT, person, day_180 + timedelta(days=1), 0) is None


def test_modes_change_the_days_intensive_is_daily_check_ins_steady_is_the_next_phase() -> None:
    person = Person(3, "UTC", (time(9), time(12)), DISCHARGE)
    day_40 = DISCHARGE + timedelta(days=40)  # Saturday: no contact in the three-a-week phase
    assert touch_on(DEFAULT, person, day_40, 0) is None
    intensive = Person(3, "UTC", (time(9), time(12)), DISCHARGE, mode=CadenceMode.intensive)
    assert touch_on(DEFAULT, intensive, day_40, 0) == Touch.checkin
    steady = Person(3, "UTC", (time(9), time(12)), DISCHARGE, mode=CadenceMode.steady)
    wednesday = DISCHARGE + timedelta(days=44)
    assert touch_on(DEFAULT, person, wednesday, 0) is not None
    assert touch_on(DEFAULT, steady, wednesday, 0) is None  # weekly (Mondays) while steady


TODAY = date(2026, 4, 1)


@pytest.mark.parametrize(
    ("mode", "until", "recent", "expected"),
    [
        (CadenceMode.normal, None, Recent(TODAY, 60, risk="relapse"), CadenceMode.intensive),
        (CadenceMode.steady, None, Recent(TODAY, 60, risk="craving"), CadenceMode.intensive),
        (CadenceMode.normal, None, Recent(TODAY, 60, missed_in_row=2), CadenceMode.intensive),
        (CadenceMode.normal, None, Recent(TODAY, 60, missed_in_row=3), None),  # once per run
        (CadenceMode.intensive, TODAY + timedelta(days=3), Recent(TODAY, 60), None),
        (CadenceMode.intensive, TODAY, Recent(TODAY, 60), CadenceMode.normal),
        (CadenceMode.normal, None, Recent(TODAY, 60, answered_in_row=6), CadenceMode.steady),
        (CadenceMode.normal, None, Recent(TODAY, 20, answered_in_row=9), None),  # first month
        (CadenceMode.normal, None, Recent(TODAY, 60, answered_in_row=5), None),
        (CadenceMode.steady, None, Recent(TODAY, 60, missed_in_row=1), CadenceMode.normal),
        (CadenceMode.steady, None, Recent(TODAY, 60, answered_in_row=20), None),
    ],
)
def test_adapting_the_mode(
    mode: CadenceMode, until: date | None, recent: Recent, expected: CadenceMode | None
) -> None:
    change = adapt(DEFAULT, mode, until, recent)
    assert (change.mode if change else None) == expected
    if change is not None:
        assert change.reason["rule"]
        if change.mode == CadenceMode.intensive:
            assert change.until == TODAY + timedelta(days=14)


def test_a_risk_during_an_intensive_spell_renews_it() -> None:
    change = adapt(
        DEFAULT, CadenceMode.intensive, TODAY + timedelta(days=2), Recent(TODAY, 50, risk="relapse")
    )
    assert change is not None and change.until == TODAY + timedelta(days=14)


def test_a_cadence_round_trips_as_data_and_an_override_replaces_top_level_keys() -> None:
    assert Cadence.parse(DEFAULT.data()) == DEFAULT
    tighter = Cadence.parse(DEFAULT.data(), {"follow_up_after_hours": 3, "missed_for_signal": 2})
    assert (tighter.follow_up_after_hours, tighter.missed_for_signal) == (3, 2)
    assert tighter.phases == DEFAULT.phases


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"phases": []}, "phases"),
        ({"phases": [{"days": "someday", "mix": ["checkin"]}]}, "phases.0.days"),
        ({"phases": [{"days": "monthly:31", "mix": ["checkin"]}]}, "day of the month"),
        ({"phases": [{"days": "daily", "mix": ["lecture"]}]}, "phases.0.mix.0"),
        (
            {"phases": [{"days": "daily", "mix": ["checkin"]}, {"days": "mon", "mix": ["weekly"]}]},
            "only the last phase",
        ),
        ({"quiet_hours": ["08:00", "21:00"]}, "quiet_hours run overnight"),
        ({"follow_up_after_hours": 30}, "before the reply window"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_a_bad_cadence_is_refused_with_the_field_named(
    override: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Cadence.parse(DEFAULT.data(), override)


def test_a_clients_check_ins_turn_through_every_question() -> None:
    """Daily check-ins come every other day; weekly ones (in the mix) every other week."""
    for step in (2, 14):
        days = [date(2026, 12, 1) + timedelta(days=step * n) for n in range(6)]
        assert [question_on(7, day) for day in days].count("open") == 3
        assert {question_on(7, day) for day in days} == {"open", "mood", "craving", "confidence"}
