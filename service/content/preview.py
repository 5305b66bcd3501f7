"""What a client would hear over the coming days: the cadence, tailoring and rendering together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from service.checkins.cadence import moment_on
from service.content.compose import ClientFacts, client_context
from service.content.library import Source
from service.content.rendering import Renderer
from service.content.tailoring import Heard, Profile, choose


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
) -> list[Planned]:
    renderer = renderer or Renderer()
    bodies = {(source.meta.id, source.meta.language): source.body for source in library}
    metas = [source.meta for source in library]
    heard = list(history)
    planned: list[Planned] = []
    for offset in range(days):
        on = start + timedelta(days=offset)
        moment = moment_on(discharge_date, facts.sobriety_date, on, len(planned))
        if moment is None:
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
