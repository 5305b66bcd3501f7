"""Every seed template, rendered for real client profiles in both languages, is a message we'd send.

The profiles are the awkward ones: a name with HTML characters, long own words, no reasons, no
sobriety date, no coordinator. Each rendering must succeed, fit a phone screen, read cleanly where
optional values are empty, and pass the MI lint.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from service.alerts.service import TEMPLATE_FOR
from service.content.compose import SAMPLE_STAFF, ClientFacts, client_context
from service.content.library import Category, Source, load
from service.content.lint import describe, lint
from service.content.rendering import Renderer
from service.content.service import SEED
from service.signals.models import SignalKind

ON = date(2026, 12, 1)
LONG_WORDS = "I want to be there for my kids, every single day, " * 6
PROFILES = {
    "en": [
        ClientFacts("Alex", "en", {"family": "my kids"}, date(2026, 8, 1), "Jordan Lee"),
        ClientFacts("Zoë <Z> & Co", "en", {"own": LONG_WORDS}, None, None),
        ClientFacts("Sam", "en", {}, date(2025, 12, 1), ""),
    ],
    "es": [
        ClientFacts("Ana", "es", {"faith": "mi fe me sostiene"}, date(2026, 10, 2), "Rocío"),
        ClientFacts("José <J>", "es", {"own": "quiero volver a confiar en mí " * 8}, None, None),
        ClientFacts("Lu", "es", {}, date(2026, 11, 30), None),
    ],
}
ARTIFACTS = re.compile(r"None|\{\{|\{%|  |\s[,.;:!?]|\(\s*\)|^[\s,.;:]|,,")
SEED_SOURCES = load(SEED)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("source", SEED_SOURCES, ids=lambda s: f"{s.meta.language}/{s.meta.id}")
def test_the_template_renders_cleanly_and_passes_the_lint(
    source: Source, renderer: Renderer
) -> None:
    meta = source.meta
    assert renderer.check(source.body, meta.audience, source.body_line) == []
    if meta.audience == "staff":
        contexts = [SAMPLE_STAFF, {**SAMPLE_STAFF, "alert_reason": None}]
    else:
        value = meta.values[0] if meta.values else None
        contexts = [client_context(facts, value, ON) for facts in PROFILES[meta.language]]
    for context in contexts:
        rendered = renderer.render(source.body, context)
        text = rendered.text
        plain = text.replace(str(context.get("reason") or ""), "")
        limit = 700 if meta.category in {"crisis_response", "staff_alert"} else 400
        assert len(plain) <= limit, f"{len(plain)} characters"
        assert not ARTIFACTS.search(plain.replace("\n", " ")), text
        assert "&lt;Z&gt; &amp; Co" in text or "Zoë" not in text  # names are escaped
        findings = lint(
            text, language=meta.language, category=meta.category, technique=meta.technique
        )
        assert findings == [], describe(findings)


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_kind_of_alert_has_a_staff_message_in_each_language(language: str) -> None:
    """raise_alert can be called with any signal kind but change talk (a strength, not an alert);
    the coordinator's Telegram note needs a template for each."""
    kinds = {
        source.meta.extras["alert"]
        for source in SEED_SOURCES
        if source.meta.category == Category.staff_alert and source.meta.language == language
    }
    alerted = [kind for kind in SignalKind if kind != SignalKind.change_talk]
    assert [kind for kind in alerted if TEMPLATE_FOR.get(kind, kind.value) not in kinds] == []
