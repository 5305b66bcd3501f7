"""From a chosen template to the text a client reads: the plain data a message may use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from service.content.crisis_lines import CrisisLines, shipped_lines
from service.content.tailoring import VALUE_LABELS, next_milestone


@dataclass(frozen=True)
class ClientFacts:
    """What a message may say about a client. Nothing else reaches a template."""

    first_name: str
    language: str
    reasons: Mapping[str, str] = field(default_factory=dict)  # value (or "own") -> own words
    sobriety_date: date | None = None
    coordinator_name: str | None = None
    # The crisis resources for the deployment's country (with its on-call line); None: the
    # shipped US lines without an on-call line. Given in ``language``, falling back to English.
    crisis: CrisisLines | None = None
    # Whether a care team is being told (a client); False for someone outside the program.
    care_team: bool = True


def client_context(facts: ClientFacts, value: str | None, on: date) -> dict[str, str | int | None]:
    days_sober = (on - facts.sobriety_date).days if facts.sobriety_date else None
    if days_sober is not None and days_sober < 0:
        days_sober = None
    labels = VALUE_LABELS.get(facts.language, VALUE_LABELS["en"])
    return {
        "first_name": facts.first_name,
        "value": labels.get(value, "") if value else "",
        "reason": facts.reasons.get(value or "", "") or facts.reasons.get("own", ""),
        "days_sober": days_sober,
        "next_milestone": next_milestone(days_sober),
        "coordinator_name": facts.coordinator_name or "",
        **(facts.crisis or shipped_lines()).for_language(facts.language),
        "care_team": "yes" if facts.care_team else "",
    }


SAMPLE_CLIENT = {
    "en": ClientFacts(
        "Alex", "en", {"family": "I want my kids to trust me again"}, date(2026, 1, 5), "Jordan"
    ),
    "es": ClientFacts(
        "Ana", "es", {"family": "quiero que mis hijos vuelvan a confiar en mí"}, None, None
    ),
}
SAMPLE_STAFF: dict[str, str | int | None] = {
    "client_code": "K7QX3M",
    "severity": "critical",
    "alert_reason": "possible self-harm",
    "console_link": "https://care.example.org/console/alerts/12",
}
