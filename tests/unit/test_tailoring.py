"""Tailoring: the right message for each person and moment, never the same line within a month."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from service.content.compose import ClientFacts
from service.content.library import Category, Meta, Source, Technique, load
from service.content.preview import Planned, preview
from service.content.service import SEED
from service.content.tailoring import Heard, Moment, Profile, choose, milestone_on, next_milestone

DAY = date(2026, 12, 1)
VALUE_CATEGORIES = {"affirmation", "self_efficacy", "values_reflection", "change_talk"}


@pytest.fixture(scope="module")
def seed() -> list[Source]:
    return load(SEED)


@pytest.fixture(scope="module")
def metas(seed: list[Source]) -> list[Meta]:
    return [source.meta for source in seed]


def meta(
    template_id: str, category: Category, *, values: tuple[str, ...] = (), **extras: str
) -> Meta:
    return Meta(template_id, category, Technique.affirmation, "en", values, (), extras)


def test_value_messages_rotate_through_the_clients_values(metas: list[Meta]) -> None:
    profile = Profile(1, "en", ("family", "nature"))
    history: list[Heard] = []
    spoken = []
    for offset in range(6):
        on = DAY + timedelta(days=offset)
        choice = choose(metas, profile, Moment(Category.affirmation, on), history)
        assert choice is not None
        history.append(Heard(choice.meta.id, on, choice.value))
        spoken.append(choice.value)
    assert spoken == ["family", "nature"] * 3
    assert choice.reason["value_why"] == "the value they have heard least about lately"


def test_nothing_heard_in_the_last_30_days_comes_again_while_there_is_more(
    metas: list[Meta],
) -> None:
    profile = Profile(7, "es", ("faith",))
    history: list[Heard] = []
    for offset in range(30):
        on = DAY + timedelta(days=offset)
        choice = choose(metas, profile, Moment(Category.checkin_opener, on), history)
        assert choice is not None
        history.append(Heard(choice.meta.id, on, choice.value))
    openers = sum(1 for m in metas if m.category is Category.checkin_opener and m.language == "es")
    counts = Counter(heard.template_id for heard in history)
    assert max(counts.values()) == 1 + (openers < 30)
    assert all(heard.template_id.startswith("checkin_opener") for heard in history)


def test_when_everything_was_heard_recently_the_oldest_comes_back() -> None:
    library = [meta("a", Category.affirmation), meta("b", Category.affirmation)]
    history = [Heard("a", DAY - timedelta(days=3)), Heard("b", DAY - timedelta(days=1))]
    choice = choose(library, Profile(1, "en"), Moment(Category.affirmation, DAY), history)
    assert choice is not None
    assert choice.meta.id == "a"
    assert "oldest" in choice.reason["picked"]


def test_the_moment_selects_scale_band_and_milestone(metas: list[Meta]) -> None:
    profile = Profile(3, "en")
    craving = choose(
        metas,
        profile,
        Moment(Category.scale_followup, DAY, {"scale": "craving", "band": "high"}),
        [],
    )
    assert craving is not None
    assert craving.meta.id.startswith("scale_followup-craving-high")
    yearly = choose(metas, profile, Moment(Category.milestone, DAY, {"milestone": "yearly"}), [])
    assert yearly is not None
    assert yearly.meta.extras["milestone"] == "yearly"


def test_a_stage_of_change_narrows_the_choice(metas: list[Meta]) -> None:
    for offset in range(10):
        moment = Moment(Category.change_talk, DAY + timedelta(days=offset))
        choice = choose(metas, Profile(offset, "en", ("work",), "contemplation"), moment, [])
        assert choice is not None
        assert not choice.meta.stages or "contemplation" in choice.meta.stages
        assert choice.reason["stage"] == "contemplation"


def test_after_sustain_talk_change_talk_stays_preparatory(metas: list[Meta]) -> None:
    ambivalent = Profile(
        5, "en", ("health",), "preparation", recent_signals=frozenset({"sustain_talk"})
    )
    steady = Profile(5, "en", ("health",), "preparation")
    picked = {"ambivalent": [], "steady": []}
    for offset in range(5):
        moment = Moment(Category.change_talk, DAY + timedelta(days=offset))
        for name, profile in (("ambivalent", ambivalent), ("steady", steady)):
            choice = choose(metas, profile, moment, [])
            assert choice is not None
            picked[name].append(choice.meta.extras["darn_cat"])
    assert set(picked["ambivalent"]) <= {"desire", "ability", "reasons", "need"}
    assert set(picked["steady"]) & {"commitment", "activation", "taking_steps"}


def test_a_language_without_the_template_falls_back_to_english() -> None:
    library = [meta("only-en", Category.reengagement)]
    choice = choose(library, Profile(1, "es"), Moment(Category.reengagement, DAY), [])
    assert choice is not None
    assert choice.reason["language"] == "en (nothing in es)"


def test_the_choice_is_stable_for_a_client_and_day_and_varies_between_clients(
    metas: list[Meta],
) -> None:
    moment = Moment(Category.checkin_opener, DAY)
    first = choose(metas, Profile(11, "en"), moment, [])
    again = choose(metas, Profile(11, "en"), moment, [])
    assert first is not None and again is not None
    assert first.meta.id == again.meta.id
    others = {choose(metas, Profile(n, "en"), moment, []).meta.id for n in range(20)}  # type: ignore[union-attr]
    assert len(others) > 5


def test_two_clients_with_different_values_hear_different_messages(seed: list[Source]) -> None:
    def month(values: tuple[str, ...], client_id: int) -> list[Planned]:
        return preview(
            seed,
            Profile(client_id, "en", values),
            ClientFacts("Sam", "en", {}, DAY - timedelta(days=3)),
            discharge_date=DAY,
            start=DAY,
            days=30,
        )

    family_and_work = month(("family", "work"), 1)
    nature_and_faith = month(("nature", "faith"), 2)
    assert len(family_and_work) == len(nature_and_faith) == 30  # daily in the first month
    from_library = [item for item in family_and_work if item.category != "weekly"]
    assert len(from_library) == 30 - 4  # the structured check-in once a week
    assert len({item.text for item in from_library}) == len(from_library)  # no line twice
    tailored = {
        name: [item for item in items if item.category in VALUE_CATEGORIES]
        for name, items in (
            ("family_and_work", family_and_work),
            ("nature_and_faith", nature_and_faith),
        )
    }
    assert len(tailored["family_and_work"]) >= 6
    assert {item.reason["value"] for item in tailored["family_and_work"]} == {"family", "work"}
    assert {item.reason["value"] for item in tailored["nature_and_faith"]} == {"nature", "faith"}
    texts = {name: {item.text for item in items} for name, items in tailored.items()}
    assert not texts["family_and_work"] & texts["nature_and_faith"]
    same_day_differs = sum(
        a.text != b.text for a, b in zip(family_and_work, nature_and_faith, strict=True)
    )
    assert same_day_differs >= 20


def test_milestones_fall_on_their_day() -> None:
    sober = date(2025, 1, 10)
    assert milestone_on(sober, sober + timedelta(days=30)) == "30"
    assert milestone_on(sober, sober + timedelta(days=31)) is None
    assert milestone_on(sober, date(2027, 1, 10)) == "yearly"
    assert milestone_on(sober, date(2026, 1, 10)) == "365"
    assert milestone_on(None, DAY) is None
    leap = date(2024, 2, 29)  # yearly on the 28th when February has no 29th
    assert milestone_on(leap, date(2026, 2, 28)) == "yearly"
    assert milestone_on(leap, date(2026, 3, 1)) is None
    assert milestone_on(leap, date(2028, 2, 29)) == "yearly"
    assert [next_milestone(d) for d in (0, 1, 29, 200, 365, 800)] == [1, 7, 30, 365, 730, 1095]
