"""The weekly structured check-in: four one-tap questions on themes of the Brief Addiction Monitor
(cravings, confidence, sober support, progress toward goals), asked one at a time.

Weekly BAM answers predict relapse in the following week (Chih et al. 2014), so answers past a
threshold become signals, and the urgent ones alerts for the care team. Answers are 0-4 in
``Checkin.answers``, keyed by question; a skipped question is kept as None, so a tap on an old
button of a question already answered or skipped changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from service.bot.callbacks import Keyboard, WeeklyAnswer, buttons, keyboard
from service.bot.texts import text
from service.checkins import thresholds
from service.checkins.models import Checkin, CheckinKind
from service.checkins.service import mark_answered
from service.checkins.thresholds import Threshold
from service.clients.models import Client
from service.content.service import Messaging
from service.signals.models import Severity, SignalKind

QUESTIONS: Final = ("craving", "confidence", "support", "progress")
ANSWERS: Final = range(5)  # not at all ... extremely, or the bands of DAYS
DAYS: Final = ("0", "1-2", "3-4", "5-6", "7")  # the support question's answers: how many days
THRESHOLDS: Final = (
    Threshold("craving", ">=", 3, SignalKind.craving, Severity.medium),  # considerably or more
    Threshold("confidence", "<=", 1, SignalKind.low_scale, Severity.medium),  # slightly or less
    Threshold("progress", "<=", 0, SignalKind.low_scale, Severity.low),  # not at all satisfied
    Threshold("support", "<=", 0, SignalKind.low_scale, Severity.low),  # no day with support
)


def crossed(question: str, answer: int) -> list[Threshold]:
    """The thresholds an answer to ``question`` crosses."""
    return thresholds.crossed(THRESHOLDS, question, answer)


def question_message(language: str, checkin_id: int, index: int) -> tuple[str, Keyboard]:
    """Question ``index`` with its answer buttons; the first opens with the short intro."""
    question = QUESTIONS[index]
    body = f"{text(language, f'weekly_ask_{question}')} ({index + 1}/{len(QUESTIONS)})"
    if index == 0:
        body = f"{text(language, 'weekly_intro')}\n\n{body}"
    return body, _keyboard(language, checkin_id, index)


def _keyboard(language: str, checkin_id: int, index: int) -> Keyboard:
    """Levels one under another (their labels are long); the day bands, short, in one row."""
    *answers, skip = buttons(
        WeeklyAnswer(checkin_id=checkin_id, index=index, value=0), _choices(language, index)
    )
    rows = [answers] if QUESTIONS[index] == "support" else [[answer] for answer in answers]
    return keyboard([*rows, [skip]])


@cache
def _choices(language: str, index: int) -> tuple[tuple[str, int | None], ...]:
    """Question ``index``'s answers and, last, skipping it (None)."""
    question = QUESTIONS[index]
    return (
        *(
            (
                DAYS[value] if question == "support" else text(language, f"weekly_level_{value}"),
                value,
            )
            for value in ANSWERS
        ),
        (text(language, "skip"), None),
    )


def summary(language: str, answers: Mapping[str, int | None]) -> str:
    """The answers reflected back, an affirmation and an open invitation to say more."""
    parts = [
        text(language, f"weekly_{question}_{value}")
        for question in QUESTIONS
        if (value := answers.get(question)) is not None
    ]
    if not parts:
        return text(language, "weekly_all_skipped")
    *rest, last = parts
    joined = f"{', '.join(rest)} {text(language, 'weekly_and')} {last}" if rest else last
    reflection = text(language, "weekly_summary", reflection=joined)
    return f"{reflection}\n\n{text(language, 'weekly_thanks')}"


@dataclass(frozen=True)
class Following:
    """What the client sees after an answer: the next question, or the summary (no keyboard)."""

    text: str
    keyboard: Keyboard | None
    step: str  # the next question's name, or "summary"


async def take_answer(
    session: AsyncSession,
    client: Client,
    messaging: Messaging,
    now: datetime,
    *,
    checkin_id: int,
    index: int,
    value: int | None,
) -> Following | None:
    """Keep the answer to question ``index`` (None: skipped), record the signals it carries and
    say what follows. None for a tap that cannot count: a double tap, a stale or foreign button.
    The check-in row is locked so that two taps at once cannot both count."""
    checkin = await session.get(Checkin, checkin_id, with_for_update=True)
    if (
        checkin is None
        or checkin.client_id != client.id
        or checkin.kind != CheckinKind.weekly
        or index != len(checkin.answers)  # only the next unanswered question
        or index >= len(QUESTIONS)
        or (value is not None and value not in ANSWERS)
    ):
        return None
    question = QUESTIONS[index]
    checkin.answers = {**checkin.answers, question: value}
    mark_answered(client, checkin, now)
    if value is not None:
        await thresholds.record_signals(
            session,
            client,
            checkin,
            messaging,
            now,
            thresholds=THRESHOLDS,
            source="weekly",
            question=question,
            value=value,
        )
    if index + 1 < len(QUESTIONS):
        body, keyboard = question_message(client.language, checkin_id, index + 1)
        return Following(body, keyboard, QUESTIONS[index + 1])
    return Following(summary(client.language, checkin.answers), None, "summary")
