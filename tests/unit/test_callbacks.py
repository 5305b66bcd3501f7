"""Buttons packed once per keyboard read back exactly as aiogram packs each one."""

from __future__ import annotations

import pytest

from service.bot.callbacks import ScaleAnswer, WeeklyAnswer, buttons
from service.checkins.service import SCALE_MAX, scale_keyboard


@pytest.mark.parametrize("value", [*range(SCALE_MAX + 1), None])
def test_a_button_carries_what_pack_writes_for_its_value(value: int | None) -> None:
    (packed,) = buttons(WeeklyAnswer(checkin_id=123456789, index=3, value=4), [("label", value)])
    assert packed == {
        "text": "label",
        "callback_data": WeeklyAnswer(checkin_id=123456789, index=3, value=value).pack(),
    }


def test_every_scale_button_unpacks_to_its_own_value() -> None:
    rows = scale_keyboard(987654321, "craving")["inline_keyboard"]
    assert [len(row) for row in rows] == [6, 5]
    for expected, button in enumerate(button for row in rows for button in row):
        assert button["text"] == str(expected)
        assert ScaleAnswer.unpack(button["callback_data"]) == ScaleAnswer(
            checkin_id=987654321, scale="craving", value=expected
        )
