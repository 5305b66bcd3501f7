"""The escalation ladder: each severity's steps and when they come, the next working day across a
Friday evening and a weekend, ladders from the settings, and clear errors for bad ones."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.alerts.ladder import DEFAULT_LADDER, Audience, Ladder, next_working_day
from service.config import load_settings
from service.errors import ConfigError

NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday afternoon in New York (19:00 UTC = 14:00 EST).
WEDNESDAY = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AFTERCARE_"):
            monkeypatch.delenv(name)


def steps(ladder: Ladder, severity: str, started: datetime) -> list[tuple[datetime, Audience]]:
    """Every step of a severity: when it comes and to whom."""
    return [
        (due, step.to)
        for level, step in enumerate(ladder.steps_for(severity))
        if (due := ladder.due(severity, level, started, NEW_YORK)) is not None
    ]


def test_critical_goes_to_the_supervisors_at_5_minutes_and_on_call_staff_at_15() -> None:
    assert steps(DEFAULT_LADDER, "critical", WEDNESDAY) == [
        (WEDNESDAY + timedelta(minutes=5), Audience.supervisors),
        (WEDNESDAY + timedelta(minutes=15), Audience.on_call),
    ]
    assert DEFAULT_LADDER.due("critical", 2, WEDNESDAY, NEW_YORK) is None  # the top


def test_high_goes_to_the_supervisors_after_an_hour() -> None:
    assert steps(DEFAULT_LADDER, "high", WEDNESDAY) == [
        (WEDNESDAY + timedelta(hours=1), Audience.supervisors)
    ]


def test_medium_goes_to_the_supervisors_at_nine_the_next_working_day() -> None:
    thursday_nine = datetime(2026, 11, 26, 9, 0, tzinfo=NEW_YORK)
    assert steps(DEFAULT_LADDER, "medium", WEDNESDAY) == [(thursday_nine, Audience.supervisors)]
    assert thursday_nine.astimezone(UTC).hour == 14  # 09:00 EST


@pytest.mark.parametrize("severity", ["low", "info"])
def test_low_and_info_do_not_escalate(severity: str) -> None:
    assert DEFAULT_LADDER.steps_for(severity) == ()
    assert DEFAULT_LADDER.due(severity, 0, WEDNESDAY, NEW_YORK) is None


@pytest.mark.parametrize(
    ("opened", "expected"),
    [
        # Friday evening in New York (Saturday 01:00 UTC): Monday morning, not Saturday.
        (datetime(2026, 11, 28, 1, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK)),
        (
            datetime(2026, 11, 27, 8, 0, tzinfo=NEW_YORK),
            datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK),
        ),  # Fri 8am
        (
            datetime(2026, 11, 28, 12, 0, tzinfo=NEW_YORK),
            datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK),
        ),  # Sat
        (
            datetime(2026, 11, 29, 23, 59, tzinfo=NEW_YORK),
            datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK),
        ),  # Sun
        (
            datetime(2026, 11, 30, 2, 0, tzinfo=NEW_YORK),
            datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK),
        ),  # Mon 2am
    ],
)
def test_the_next_working_day_skips_the_weekend(opened: datetime, expected: datetime) -> None:
    due = DEFAULT_LADDER.due("medium", 0, opened, NEW_YORK)
    assert due == expected


def test_the_next_working_day_keeps_local_nine_across_a_clock_change() -> None:
    # Friday 2026-10-30; clocks go back on Sunday 1 November: Monday 09:00 is EST, 14:00 UTC.
    due = DEFAULT_LADDER.due("medium", 0, datetime(2026, 10, 30, 20, tzinfo=UTC), NEW_YORK)
    assert due is not None
    assert due.astimezone(UTC) == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert next_working_day(date(2026, 10, 30)).isoformat() == "2026-11-02"


def test_a_ladder_from_the_settings_replaces_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    ladder = {
        "critical": [{"after": "2m", "to": "on_call"}, {"after": "1h30m", "to": "supervisors"}],
        "high": [{"next_working_day": "08:30", "to": "on_call"}],
    }
    monkeypatch.setenv("AFTERCARE_ALERT_LADDER", json.dumps(ladder))
    settings = load_settings()
    assert settings.alert_ladder.data() == ladder
    assert steps(settings.alert_ladder, "critical", WEDNESDAY) == [
        (WEDNESDAY + timedelta(minutes=2), Audience.on_call),
        (WEDNESDAY + timedelta(hours=1, minutes=30), Audience.supervisors),
    ]
    assert steps(settings.alert_ladder, "high", WEDNESDAY) == [
        (datetime(2026, 11, 26, 8, 30, tzinfo=NEW_YORK), Audience.on_call)
    ]
    assert settings.alert_ladder.steps_for("medium") == ()  # not named: does not escalate
    routing = settings.alert_routing
    assert (routing.ladder, routing.timezone) == (settings.alert_ladder, "America/New_York")


def test_the_default_ladder_is_the_documented_one() -> None:
    assert load_settings().alert_ladder.data() == {
        "critical": [{"after": "5m", "to": "supervisors"}, {"after": "15m", "to": "on_call"}],
        "high": [{"after": "1h", "to": "supervisors"}],
        "medium": [{"next_working_day": "09:00", "to": "supervisors"}],
        "low": [],
    }


def test_a_later_step_never_comes_before_an_earlier_one() -> None:
    ladder = Ladder.parse(
        {
            "medium": [
                {"next_working_day": "09:00", "to": "supervisors"},
                {"after": "1h", "to": "on_call"},
            ]
        }
    )
    first = ladder.due("medium", 0, WEDNESDAY, NEW_YORK)
    assert ladder.due("medium", 1, WEDNESDAY, NEW_YORK) == first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        ('{"urgent": []}', "unknown severity 'urgent'"),
        ('{"critical": {"after": "5m"}}', "critical: must be a list of steps"),
        ('{"critical": ["5m"]}', "critical step 1: must be an object"),
        ('{"high": [{"after": "1h", "to": "everyone"}]}', "high step 1: 'to' must be one of"),
        ('{"high": [{"after": "soon", "to": "on_call"}]}', "high step 1: 'after' must be a"),
        ('{"high": [{"after": "0m", "to": "on_call"}]}', "more than 0s and at most 30d"),
        ('{"high": [{"after": "45d", "to": "on_call"}]}', "more than 0s and at most 30d"),
        ('{"high": [{"to": "on_call"}]}', "needs either 'after' or 'next_working_day'"),
        (
            '{"high": [{"after": "1h", "next_working_day": "09:00", "to": "on_call"}]}',
            "needs either 'after' or 'next_working_day'",
        ),
        ('{"medium": [{"next_working_day": "9am", "to": "on_call"}]}', 'such as "09:00"'),
        ('{"medium": [{"next_working_day": "25:00", "to": "on_call"}]}', 'such as "09:00"'),
        ('{"high": [{"after": "1h", "to": "on_call", "tz": "UTC"}]}', "unknown key 'tz'"),
    ],
)
def test_a_bad_ladder_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("AFTERCARE_ALERT_LADDER", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("AFTERCARE_ALERT_LADDER ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("value", "expected"), [("", None), ("-1001234567890", -1001234567890)])
def test_the_team_chat_is_optional(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    monkeypatch.setenv("AFTERCARE_ALERT_CHAT_ID", value)
    assert load_settings().alert_chat_id == expected


def test_the_team_chat_must_be_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERCARE_ALERT_CHAT_ID", "777")
    with pytest.raises(ConfigError, match=r"^AFTERCARE_ALERT_CHAT_ID must be a group chat"):
        load_settings()


def test_alert_privacy_and_client_notes_are_off_by_default() -> None:
    settings = load_settings()
    assert not settings.alert_message_text
    assert not settings.tell_client_when_seen
    assert settings.alert_chat_id is None
