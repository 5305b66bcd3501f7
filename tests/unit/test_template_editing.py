"""The template editor's pure parts: what changed between versions, texts as a browser sends
them, previews for a sample, and the checks that decide whether a text may be published."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.content.editing import (
    Change,
    Sample,
    check,
    diff,
    normalized,
    preview_for_sample,
)
from service.content.library import Category, Meta, Technique
from service.content.rendering import Renderer
from service.web.library import MAX_SAMPLE_DAYS, Target

ON = date(2026, 3, 1)
AFFIRMATION = Meta(
    "affirmation-family-9", Category.affirmation, Technique.affirmation, "en", ("family",)
)
STAFF = Meta(
    "staff_alert-sos", Category.staff_alert, Technique.information, "en", extras={"alert": "sos"}
)


def test_a_changed_word_is_shown_removed_then_added_among_what_stayed() -> None:
    assert diff("On good days and hard ones.\n", "On easy days and hard ones.\n") == [
        Change("same", "On "),
        Change("removed", "good"),
        Change("added", "easy"),
        Change("same", " days and hard ones.\n"),
    ]


def test_changed_words_next_to_each_other_read_as_one_change() -> None:
    assert diff("You did well.", "You made progress.") == [
        Change("same", "You "),
        Change("removed", "did well"),
        Change("added", "made progress"),
        Change("same", "."),
    ]


def test_the_first_version_is_all_added_and_an_unchanged_one_all_kept() -> None:
    assert diff("", "Hello {{ first_name }}\n") == [Change("added", "Hello {{ first_name }}\n")]
    assert diff("Same.\n", "Same.\n") == [Change("same", "Same.\n")]


@given(st.text(), st.text())
def test_a_diff_holds_both_texts(old: str, new: str) -> None:
    changes = diff(old, new)
    assert "".join(c.text for c in changes if c.kind != "added") == old
    assert "".join(c.text for c in changes if c.kind != "removed") == new


def test_a_text_from_a_form_gets_the_seed_files_line_endings() -> None:
    assert normalized("Hi {{ first_name }}\r\nHow is it going?  \r\n\r\n") == (
        "Hi {{ first_name }}\nHow is it going?\n"
    )
    assert normalized(" \r\n\t") == ""


def test_a_sample_preview_uses_the_name_value_language_and_days_given() -> None:
    renderer = Renderer()
    body = "{{ first_name }}: {{ value }}{% if days_sober %}, day {{ days_sober }}{% endif %}"
    default = preview_for_sample(AFFIRMATION, body, Sample(), ON, renderer)
    assert default.text == "Alex: family, day 55"
    assert default.reader == "a sample client, Alex (en, family)"
    chosen = Sample(first_name="Sam", language="es", value="work", days_sober=3)
    assert preview_for_sample(AFFIRMATION, body, chosen, ON, renderer).text == "Sam: trabajo, day 3"


def test_a_preview_shows_what_the_reader_sees_and_why_there_is_none() -> None:
    renderer = Renderer()
    bold = preview_for_sample(
        AFFIRMATION, "<b>{{ first_name }}</b> &amp; you", Sample("A<b>"), ON, renderer
    )
    assert bold.text == "<b>A&lt;b&gt;</b> &amp; you"
    assert bold.visible == "A<b> & you"
    assert bold.length == len("A<b> & you")
    broken = preview_for_sample(AFFIRMATION, "{{ nope }}", Sample(), ON, renderer)
    assert broken.text is None and broken.problems
    staff = preview_for_sample(
        STAFF, "Client {{ client_code }}: {{ severity }}", Sample("Sam"), ON, renderer
    )
    assert staff.text == "Client K7QX3M: critical"


def test_each_problem_is_listed_once_and_a_good_text_has_none() -> None:
    renderer = Renderer()
    problems = check(AFFIRMATION, "<script>x</script> Hi {{ first_name }}.\n", renderer)
    assert [p.message for p in problems] == ["Telegram does not support the tag <script>"]
    assert check(AFFIRMATION, "You keep showing up, {{ first_name }}.\n", renderer) == []
    kinds = {p.kind for p in check(AFFIRMATION, "You are an addict.\n", renderer)}
    assert kinds == {"lint"}


@pytest.mark.parametrize("odd", ["²", "٣", "-1", "1e3", "99999999999", "12a"])
def test_an_odd_number_in_the_preview_fields_is_a_problem_to_show_not_an_error(odd: str) -> None:
    target = Target.of({"client_id": odd, "sample_days": odd})
    assert target.client_id is None and target.sample.days_sober is None
    assert target.problem == "A client id is a number, as in the address of the client's page."


def test_the_preview_fields_take_whole_numbers_within_their_bounds() -> None:
    target = Target.of({"client_id": " 42 ", "sample_days": "0"})
    assert (target.client_id, target.sample.days_sober, target.problem) == (42, 0, None)
    assert Target.of({"sample_days": str(MAX_SAMPLE_DAYS + 1)}).sample.days_sober is None
