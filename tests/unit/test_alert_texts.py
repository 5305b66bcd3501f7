"""What the bot says about alerts: every text in English and Spanish with the same placeholders,
buttons that fit Telegram's callback data and match the alert's state, toasts that fit a callback
answer, and a word to the client in the spirit of MI."""

from __future__ import annotations

import string

import pytest

from service.alerts.models import AlertStatus
from service.alerts.service import AlertChoice, alert_keyboard, toast
from service.bot.callbacks import AlertAction
from service.bot.texts import LANGUAGES, TEXTS
from service.content.library import Category
from service.content.lint import lint

ALERT_KEYS = sorted(key for key in TEXTS["en"] if key.startswith("alert_"))
TOASTS = [key for key in ALERT_KEYS if key.startswith(("alert_done_", "alert_already"))] + [
    "alert_gone",
    "alert_staff_only",
]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_alert_text_is_in_both_languages_with_the_same_placeholders() -> None:
    assert len(ALERT_KEYS) >= 14
    for language in LANGUAGES:
        assert sorted(k for k in TEXTS[language] if k.startswith("alert_")) == ALERT_KEYS
    for key in ALERT_KEYS:
        assert placeholders(TEXTS["es"][key]) == placeholders(TEXTS["en"][key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_toasts_fit_a_callback_answer(language: str) -> None:
    state = toast(language, "alert_state_callback_requested", name="A" * 60, time="23:59")
    for key in TOASTS:
        assert len(toast(language, key, state=state)) <= 200, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_word_to_the_client_passes_the_mi_lint(language: str) -> None:
    findings = lint(TEXTS[language]["alert_seen"], language=language, category=Category.affirmation)
    assert findings == []


def test_buttons_follow_the_alert_and_fit_callback_data() -> None:
    opened = alert_keyboard(2_147_483_647, "en", AlertStatus.open)
    assert opened is not None
    rows = opened["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [
        ["Acknowledge", "Call back requested"],
        ["Resolve"],
    ]
    for row in rows:
        for button in row:
            assert len(button["callback_data"].encode()) <= 64
            action = AlertAction.unpack(button["callback_data"])
            assert action.alert_id == 2_147_483_647
            assert AlertChoice(action.action)
    acknowledged = alert_keyboard(7, "es", AlertStatus.acknowledged)
    assert acknowledged == {
        "inline_keyboard": [
            [
                {
                    "text": "Resolver",
                    "callback_data": AlertAction(alert_id=7, action="resolve").pack(),
                }
            ]
        ]
    }
    assert alert_keyboard(7, "en", AlertStatus.resolved) is None
