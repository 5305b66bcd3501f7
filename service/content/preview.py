"""What a client would hear over the coming days: the cadence, tailoring and rendering together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import Any

from service.checkins.cadence import DEFAULT, Cadence, Person, Touch, moment_for, touch_on
from service.content.compose import ClientFacts, client_context
from service.content.library import Source
from service.content.rendering import Renderer
from service.content.tailoring import Heard, Profile, choose

WEEKLY = {
    "en": "The weekly check-in: cravings, confidence, support and progress, one tap each.",
    "es": "El chequeo semanal: antojos, confianza, apoyo y progreso, un toque cada uno.",
}


@dataclass(frozen=True)
class Planned:
    on: date
    category: str
    template_id: str
    text: str
    reason: dict[str, Any]


def preview(
    library: Sequence[Source],
    profile: Profile,
    facts: ClientFacts,
    *,
    discharge_date: date,
    start: date,
    days: int,
    history: Sequence[Heard] = (),
    renderer: Renderer | None = None,
    cadence: Cadence = DEFAULT,
    person: Person | None = None,
) -> list[Planned]:
    """The touches of the next ``days`` days from ``start``, as the planner would choose them
    (check-ins shown by their opener; the weekly check-in by its themes)."""
    renderer = renderer or Renderer()
    bodies = {(source.meta.id, source.meta.language): source.body for source in library}
    metas = [source.meta for source in library]
    heard = list(history)
    person = person or Person(profile.client_id, "UTC", (time(9), time(12)), discharge_date)
    person = replace(person, discharge_date=discharge_date, sobriety_date=facts.sobriety_date)
    planned: list[Planned] = []
    touches = 0  # the mix turns on its own touches, not on milestones
    for offset in range(days):
        on = start + timedelta(days=offset)
        touch = touch_on(cadence, person, on, touches)
        if touch is None:
            continue
        touches += touch != Touch.milestone
        moment = moment_for(touch, on, facts.sobriety_date, "open")
        if moment is None:
            reason = {"category": touch.value, "language": profile.language}
            planned.append(Planned(on, touch.value, "", WEEKLY[profile.language], reason))
            continue
        today = replace(profile, days_since_discharge=(on - discharge_date).days)
        choice = choose(metas, today, moment, heard)
        if choice is None:
            continue
        body = bodies[(choice.meta.id, choice.meta.language)]
        text = renderer.render(body, client_context(facts, choice.value, on)).text
        heard.append(Heard(choice.meta.id, on, choice.value))
        planned.append(Planned(on, moment.category.value, choice.meta.id, text, choice.reason))
    return planned
