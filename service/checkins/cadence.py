"""The default program's cadence: when a client hears from the bot, and what kind of touch. Pure.

Tapering like evidence-based continuing care: daily for the first 30 days after discharge, three
times a week (Monday, Wednesday, Friday) to day 90, weekly (Mondays) to day 365, monthly (the 1st)
after. Sober-day milestones are marked on their day whatever the cadence. The touches alternate
check-ins with affirmations, self-efficacy prompts, values reflections and change-talk
invitations tailored to the client's values.
"""

from __future__ import annotations

from datetime import date

from service.content.library import Category
from service.content.tailoring import Moment, milestone_on

MIX = (
    Category.checkin_opener,
    Category.affirmation,
    Category.checkin_opener,
    Category.self_efficacy,
    Category.checkin_opener,
    Category.values_reflection,
    Category.checkin_opener,
    Category.change_talk,
)
MONDAY, WEDNESDAY, FRIDAY = 0, 2, 4


def is_contact_day(discharge_date: date, on: date) -> bool:
    days = (on - discharge_date).days
    if days < 0:
        return False
    if days < 30:
        return True
    if days < 90:
        return on.weekday() in {MONDAY, WEDNESDAY, FRIDAY}
    if days < 365:
        return on.weekday() == MONDAY
    return on.day == 1


def moment_on(
    discharge_date: date, sobriety_date: date | None, on: date, touches_so_far: int
) -> Moment | None:
    """What the client hears on ``on``, if anything; ``touches_so_far`` rotates the mix."""
    milestone = milestone_on(sobriety_date, on)
    if milestone is not None:
        return Moment(Category.milestone, on, {"milestone": milestone})
    if not is_contact_day(discharge_date, on):
        return None
    return Moment(MIX[touches_so_far % len(MIX)], on)
