"""The weekly check-in's questions, summary and thresholds: every question asks one thing with five
answers and a skip, in English and Spanish, in MI-consistent words, and only the answers the care
team should hear about become signals."""

from __future__ import annotations

import pytest

from service.bot.callbacks import WeeklyAnswer
from service.bot.texts import LANGUAGES, TEXTS, text
from service.checkins.weekly import QUESTIONS, crossed, question_message, summary
from service.content.lint import describe, lint
from service.signals.models import Severity, SignalKind

CHECKIN_ID = 2_147_483_647  # the largest id the column holds: the callback data still fits
LEVELS = {
    "en": ["Not at all", "Slightly", "Moderately", "Considerably", "Extremely"],
    "es": ["Nada", "Un poco", "Moderadamente", "Bastante", "Muchísimo"],
}
DAYS = ["0", "1-2", "3-4", "5-6", "7"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("index", range(len(QUESTIONS)))
def test_every_question_has_five_answers_and_a_skip_that_round_trip(
    language: str, index: int
) -> None:
    body, keyboard = question_message(language, CHECKIN_ID, index)
    buttons = [button for row in keyboard["inline_keyboard"] for button in row]
    labels = DAYS if QUESTIONS[index] == "support" else LEVELS[language]
    assert [b["text"] for b in buttons] == [*labels, text(language, "skip")]
    decoded = []
    for button in buttons:
        assert len(button["callback_data"].encode()) <= 64  # Telegram's limit
        decoded.append(WeeklyAnswer.unpack(button["callback_data"]))
    assert decoded == [
        WeeklyAnswer(checkin_id=CHECKIN_ID, index=index, value=value)
        for value in [0, 1, 2, 3, 4, None]
    ]
    assert f"({index + 1}/4)" in body
    assert body != question_message("es" if language == "en" else "en", CHECKIN_ID, index)[0]
    assert describe(lint(body, language=language)) == []


@pytest.mark.parametrize(
    ("language", "taps", "skip"), [("en", "4 quick taps", "skip"), ("es", "4 toques", "omitir")]
)
def test_the_first_question_says_it_is_four_taps_and_skipping_is_fine(
    language: str, taps: str, skip: str
) -> None:
    first, _ = question_message(language, CHECKIN_ID, 0)
    later, _ = question_message(language, CHECKIN_ID, 1)
    assert taps in first and skip in first
    assert taps not in later


@pytest.mark.parametrize(
    ("language", "answers", "expected"),
    [
        (
            "en",
            {"craving": 1, "confidence": 3, "support": 2, "progress": 4},
            "This week cravings bothered you slightly, you're feeling quite confident about the "
            "coming week, you connected with your supports on 3 or 4 days and you're very "
            "satisfied with your progress.",
        ),
        (
            "en",
            {"craving": None, "confidence": 0, "support": None, "progress": None},
            "This week you're not feeling confident about the coming week.",
        ),
        (
            "es",
            {"craving": 3, "confidence": None, "support": 0, "progress": 2},
            "Esta semana las ganas de consumir te molestaron bastante, no conectaste con tus "
            "apoyos y tu avance te satisface moderadamente.",
        ),
    ],
)
def test_the_summary_reflects_the_answers_given_and_invites_more(
    language: str, answers: dict[str, int | None], expected: str
) -> None:
    reflection, closing = summary(language, answers).split("\n\n")
    assert reflection == expected
    assert closing == text(language, "weekly_thanks")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_summary_is_mi_consistent(language: str) -> None:
    for value in range(5):
        said = summary(language, dict.fromkeys(QUESTIONS, value))
        assert describe(lint(said, language=language)) == [], said
    assert summary(language, dict.fromkeys(QUESTIONS)) == text(language, "weekly_all_skipped")
    assert describe(lint(text(language, "weekly_all_skipped"), language=language)) == []


def test_weekly_texts_exist_in_every_language() -> None:
    keys = {language: {k for k in TEXTS[language] if k.startswith("weekly_")} for language in TEXTS}
    assert keys["en"] == keys["es"]


CRAVING = (SignalKind.craving, Severity.medium)
LOW_CONFIDENCE = (SignalKind.low_scale, Severity.medium)
LOW = (SignalKind.low_scale, Severity.low)
SIGNALS = {
    ("craving", 3): {CRAVING},  # considerably
    ("craving", 4): {CRAVING},  # extremely
    ("confidence", 0): {LOW_CONFIDENCE},  # not at all
    ("confidence", 1): {LOW_CONFIDENCE},  # slightly
    ("support", 0): {LOW},  # no day
    ("progress", 0): {LOW},  # not at all satisfied
}


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("answer", range(5))
def test_only_the_specified_answers_become_signals(question: str, answer: int) -> None:
    found = {(t.kind, t.severity) for t in crossed(question, answer)}
    assert found == SIGNALS.get((question, answer), set())
