"""The library file format, and the seed library's coverage of categories, values, languages."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from service.content.compose import ClientFacts, client_context
from service.content.library import (
    VALUES,
    Category,
    HeaderError,
    Source,
    Technique,
    load,
    parse,
)
from service.content.rendering import Renderer
from service.content.service import SEED

VALUE_CATEGORIES = (
    Category.affirmation,
    Category.self_efficacy,
    Category.values_reflection,
    Category.change_talk,
)
GOOD = """{#
id: affirmation-family-1
category: affirmation
technique: affirmation
values: [family]
stages: [action, maintenance]
language: en
#}
You keep showing up for the people you love.
"""


@pytest.fixture(scope="module")
def seed() -> list[Source]:
    return load(SEED)


def test_a_header_is_parsed_into_metadata_and_the_body_keeps_its_line() -> None:
    source = parse(GOOD, Path("affirmation-family-1.j2"))
    meta = source.meta
    assert (meta.id, meta.category, meta.technique) == (
        "affirmation-family-1",
        Category.affirmation,
        Technique.affirmation,
    )
    assert (meta.values, meta.stages, meta.language) == (
        ("family",),
        ("action", "maintenance"),
        "en",
    )
    assert source.body == "You keep showing up for the people you love.\n"
    assert source.body_line == 9


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("category: affirmation", "category: lecture"), 3, "`category: lecture` is not one of"),
        (("values: [family]", "values: [money]"), 5, "unknown money"),
        (("values: [family]", "values: family"), 5, "must be a list"),
        (("stages: [action, maintenance]", "stages: [any, action]"), 6, "lists `any` with others"),
        (("language: en", "language: fr"), 7, "`language: fr`"),
        (("id: affirmation-family-1", "id: Affirmation One"), 2, "`id` must be lowercase"),
        (("technique: affirmation\n", ""), 1, "`technique` is missing"),
        (("language: en", "language: en\nmood: sunny"), 8, "unknown header key `mood`"),
    ],
)
def test_a_bad_header_says_what_and_where(change: tuple[str, str], line: int, message: str) -> None:
    with pytest.raises(HeaderError) as caught:
        parse(GOOD.replace(*change))
    assert any(p.line == line and message in p.message for p in caught.value.problems), (
        caught.value.problems
    )


def test_a_category_that_needs_more_says_which_key() -> None:
    text = GOOD.replace("category: affirmation", "category: scale_followup").replace(
        "technique: affirmation", "technique: reflection"
    )
    with pytest.raises(HeaderError, match="needs `scale`"):
        parse(text)


def test_the_id_must_match_the_file_name() -> None:
    with pytest.raises(HeaderError, match="differs from the file name"):
        parse(GOOD, Path("affirmation-family-2.j2"))


def test_the_seed_library_has_at_least_200_messages_in_each_language(seed: list[Source]) -> None:
    per_language = Counter(source.meta.language for source in seed)
    assert per_language["en"] >= 200
    assert per_language["es"] >= 200
    ids = Counter((source.meta.language, source.meta.id) for source in seed)
    assert max(ids.values()) == 1


def test_every_category_exists_in_both_languages(seed: list[Source]) -> None:
    present = {(source.meta.language, source.meta.category) for source in seed}
    missing = [
        (lang, c.value) for lang in ("en", "es") for c in Category if (lang, c) not in present
    ]
    assert missing == []


@pytest.mark.parametrize("category", VALUE_CATEGORIES, ids=lambda c: c.value)
def test_five_or_more_per_value_per_value_category(seed: list[Source], category: Category) -> None:
    counts = Counter(
        (source.meta.language, source.meta.values[0])
        for source in seed
        if source.meta.category is category and source.meta.values
    )
    short = {
        (lang, value): counts[(lang, value)]
        for lang in ("en", "es")
        for value in VALUES
        if counts[(lang, value)] < 5
    }
    assert short == {}


def test_scale_followups_cover_every_scale_and_band(seed: list[Source]) -> None:
    covered = {
        (s.meta.language, s.meta.extras["scale"], s.meta.extras["band"])
        for s in seed
        if s.meta.category is Category.scale_followup
    }
    assert len(covered) == 2 * 3 * 3


def test_crisis_responses_carry_the_right_numbers(seed: list[Source]) -> None:
    crisis = [s for s in seed if s.meta.category is Category.crisis_response]
    assert {(s.meta.language, s.meta.extras["alert"]) for s in crisis} == {
        (lang, kind)
        for lang in ("en", "es")
        for kind in ("self_harm", "overdose", "sos", "help_request")
    }
    renderer = Renderer()
    for source in crisis:
        # The numbers are data (templates/crisis_lines.toml), never written into a message.
        assert not re.search(r"\d{3}", source.body), source.meta.id
        facts = ClientFacts("Sam", source.meta.language)  # the defaults: the US lines
        text = renderer.render(source.body, client_context(facts, None, date(2026, 3, 1))).text
        assert "988" in text, source.meta.id  # every crisis response names the Lifeline
        assert "911" in text, source.meta.id  # and the emergency number
        if source.meta.language == "es":
            assert "AYUDA" in text and "marca 2" in text, source.meta.id
