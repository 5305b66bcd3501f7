"""Crisis resources as data: the shipped US lines, a deployment's own file merged over them, the
program's on-call line first, and every crisis response rendered with them in both languages.

The numbers here are the ones in CLINICAL-REFERENCES.md (United States); the country `ZZ` and the
555-01xx numbers are fictional, for the tests only.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from service.content.compose import SAMPLE_CLIENT, ClientFacts, client_context
from service.content.crisis_lines import SHIPPED, CrisisLines, shipped_lines
from service.content.library import Category, Source, load
from service.content.lint import describe, lint
from service.content.rendering import Renderer
from service.content.service import SEED

ON = date(2026, 3, 1)
ONCALL = "555-0100"
ARTIFACTS = re.compile(r"None|\{\{|\{%|  |\s[,.;:!?]|\(\s*\)|^[\s,.;:]|,,|\.\.")
CRISIS = [s for s in load(SEED) if s.meta.category is Category.crisis_response]
CARE_TEAM = {"en": "care team", "es": "equipo de apoyo"}


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "local_crisis_lines.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_validates_and_holds_the_us_resources() -> None:
    lines = CrisisLines.load()
    assert lines.country.code == "US"
    assert lines.oncall is None
    en = lines.for_language("en")
    assert en["emergency_number"] == "911"
    for fact in ("call or text 988", "HOME to 741741", "SAMHSA", "1-800-662-4357"):
        assert fact in en["crisis_lines"], fact
    es = lines.for_language("es")
    assert es["emergency_number"] == "911"
    for fact in ("llama al 988 y marca 2", "AYUDA por texto al 988", "741741", "442-AYUDAME"):
        assert fact in es["crisis_lines"], fact
    assert "call" not in es["crisis_lines"]  # written in Spanish, not translated back
    assert shipped_lines() == lines


def test_lines_are_joined_into_one_phrase_per_language() -> None:
    lines = CrisisLines.load(oncall=ONCALL)
    assert lines.for_language("en")["crisis_lines"] == (
        "call your program's on-call line at 555-0100, "
        "call or text 988 (Suicide & Crisis Lifeline, free, 24/7), "
        "text HOME to 741741 (Crisis Text Line), "
        "or call the SAMHSA National Helpline at 1-800-662-4357 for information and referrals "
        "(free, confidential, 24/7)"
    )
    es = lines.for_language("es")["crisis_lines"]
    assert es.startswith("llama a la línea de guardia de tu programa al 555-0100; llama al 988")
    assert "; o llama a la Línea Nacional de Ayuda de SAMHSA" in es


@pytest.mark.parametrize(
    ("count", "en", "es"),
    [
        (1, "a", "a"),
        (2, "a or b", "a; o b"),
        (3, "a, b, or c", "a; b; o c"),
        (4, "a, b, c, or d", "a; b; c; o d"),
    ],
)
def test_joining_one_two_or_more_lines(count: int, en: str, es: str) -> None:
    languages = CrisisLines.load().languages
    items = ["a", "b", "c", "d"][:count]
    assert (languages["en"].join(items), languages["es"].join(items)) == (en, es)


def test_the_on_call_line_comes_first_and_can_be_left_out() -> None:
    lines = CrisisLines.load(oncall=" 555-0100 ")
    assert lines.lines("en")[0] == "call your program's on-call line at 555-0100"
    assert lines.lines("es")[0] == "llama a la línea de guardia de tu programa al 555-0100"
    assert lines.without_oncall().lines("en") == CrisisLines.load().lines("en")
    assert CrisisLines.load(oncall="").oncall is None  # a blank setting means none
    assert CrisisLines.load(oncall="+1 (555) 010-0100").oncall == "+1 (555) 010-0100"


def test_a_missing_language_falls_back_to_english() -> None:
    lines = CrisisLines.load(oncall=ONCALL)
    assert lines.for_language("fr") == lines.for_language("en")
    assert lines.language_of("fr") == "en"


def test_the_country_code_is_case_insensitive() -> None:
    assert CrisisLines.load(country="us") == CrisisLines.load(country="US")


def test_an_unknown_country_is_an_error_not_the_us_numbers() -> None:
    with pytest.raises(ValueError, match=r"no crisis lines for country `FR` \(known: US\)") as exc:
        CrisisLines.load(country="FR")
    assert str(SHIPPED) in str(exc.value)
    assert "[country.FR]" in str(exc.value)


DEPLOYMENT = """
[language.en]
oncall = "call our on-call nurse at {phone}"

[country.ZZ]
emergency_number = "112"
lines.en = ["call 555-0101 (Night Line, free, 24/7)", "text TALK to 555-0102"]
lines.es = ["llama al 555-0101 (Línea Nocturna, gratis, 24 horas)"]

[country.US]
lines.en = [
    "call or text 988 (Suicide & Crisis Lifeline, free, 24/7)",
    "text HOME to 741741 (Crisis Text Line, free, 24/7)",
]
local_lines.en = ["call the county crisis team at 555-0199 (24/7)"]
local_lines.es = ["llama al equipo de crisis del condado al 555-0199 (24 horas)"]
"""


def test_a_deployment_file_adds_a_country(tmp_path: Path) -> None:
    path = _file(tmp_path, DEPLOYMENT)
    lines = CrisisLines.load(path, country="ZZ", oncall=ONCALL)
    assert lines.for_language("en") == {
        "crisis_lines": "call our on-call nurse at 555-0100, call 555-0101 (Night Line, free, "
        "24/7), or text TALK to 555-0102",
        "emergency_number": "112",
    }
    assert lines.for_language("es")["crisis_lines"] == (
        "llama a la línea de guardia de tu programa al 555-0100; o "  # the shipped es phrase
        "llama al 555-0101 (Línea Nocturna, gratis, 24 horas)"
    )
    assert "988" not in lines.for_language("en")["crisis_lines"]


def test_a_deployment_file_overrides_a_line_and_adds_local_lines(tmp_path: Path) -> None:
    lines = CrisisLines.load(_file(tmp_path, DEPLOYMENT), oncall=ONCALL)
    assert lines.lines("en") == [
        "call our on-call nurse at 555-0100",  # on-call first, in the deployment's words
        "call the county crisis team at 555-0199 (24/7)",  # then the local lines
        "call or text 988 (Suicide & Crisis Lifeline, free, 24/7)",
        "text HOME to 741741 (Crisis Text Line, free, 24/7)",  # the list it replaced
    ]
    es = lines.lines("es")
    assert es[:2] == [
        "llama a la línea de guardia de tu programa al 555-0100",
        "llama al equipo de crisis del condado al 555-0199 (24 horas)",
    ]
    assert es[2:] == CrisisLines.load().lines("es")  # Spanish national lines kept from shipped
    assert lines.for_language("en")["emergency_number"] == "911"  # kept from the shipped file


def test_the_shipped_file_given_as_the_deployment_file_is_read_once() -> None:
    assert CrisisLines.load(SHIPPED) == CrisisLines.load()


MALFORMED = [
    pytest.param("[country.US\n", "not valid TOML", id="toml"),
    pytest.param("[countries.ZZ]\n", "unknown table `countries`", id="unknown-table"),
    pytest.param(
        '[country.zz]\nemergency_number = "112"\n', "`country.zz`: `zz` is not", id="lower-code"
    ),
    pytest.param(
        '[country.ZZZ]\nemergency_number = "112"\n', "`country.ZZZ`: `ZZZ` is not", id="code"
    ),
    pytest.param(
        '[country.US]\nemergency_number = "nine-one-one"\n',
        "`country.US.emergency_number` `nine-one-one` is not a phone number",
        id="emergency-number",
    ),
    pytest.param(
        "[country.US]\nemergency_number = 911\n",
        "`country.US.emergency_number` must be text",
        id="emergency-number-type",
    ),
    pytest.param('[country.US]\nlines.en = "call 988"\n', "`country.US.lines.en` must be a list"),
    pytest.param("[country.US]\nlines.en = []\n", "`country.US.lines.en` must be a list"),
    pytest.param(
        '[country.US]\nlines = ["call 988"]\n', "`country.US.lines` must give lines per language"
    ),
    pytest.param(
        '[country.US]\nlines.en = ["call 988."]\n',
        "`country.US.lines.en[0]` ends with punctuation",
        id="full-stop",
    ),
    pytest.param(
        '[country.US]\nlines.en = ["call 988", ""]\n', "`country.US.lines.en[1]` is empty"
    ),
    pytest.param(
        '[country.US]\nlines.en = ["call <b>988</b>"]\n',
        "`country.US.lines.en[0]` has < or >",
        id="html",
    ),
    pytest.param(
        '[country.US]\nlines.en = ["call {{ first_name }}"]\n',
        "`country.US.lines.en[0]` has { or }",
        id="template",
    ),
    pytest.param(
        '[country.US]\nlines.en = ["call 988 (' + "x" * 200 + ')"]\n',
        "`country.US.lines.en[0]` is 211 characters",
        id="long",
    ),
    pytest.param(
        '[country.US]\nlines.en = ["call 555-0103 (a line for addicts)"]\n',
        "`country.US.lines.en[0]` fails the MI lint: label",
        id="label",
    ),
    pytest.param(
        '[country.US]\nlines.es = ["llama al 555-0103, última oportunidad"]\n',
        "`country.US.lines.es[0]` fails the MI lint: confrontation",
        id="confrontation-es",
    ),
    pytest.param(
        "[country.US]\nlines.en = [988]\n", "`country.US.lines.en[0]` must be text", id="number"
    ),
    pytest.param(
        '[country.US]\nhotline = "988"\n', "unknown key `country.US.hotline`", id="unknown-key"
    ),
    pytest.param(
        '[country.ZZ]\nlines.en = ["call 555-0101"]\n',
        "`country.ZZ` needs `emergency_number`",
        id="no-emergency-number",
    ),
    pytest.param(
        '[country.ZZ]\nemergency_number = "112"\n',
        "`country.ZZ` needs lines in at least one language",
        id="no-lines",
    ),
    pytest.param(
        '[country.ZZ]\nemergency_number = "112"\nlines.fr = ["appelle le 555-0101"]\n',
        "`country.ZZ.lines.fr` has no [language.fr] table",
        id="no-language-table",
    ),
    pytest.param(
        '[country.ZZ]\nemergency_number = "112"\nlines.en = ["call 555-0101"]\n'
        'local_lines.es = ["llama al 555-0199"]\n',
        "`country.ZZ.local_lines.es` has no `lines.es`",
        id="local-without-lines",
    ),
    pytest.param(
        '[language.en]\noncall = "call our on-call line"\n',
        "`language.en.oncall` must hold {phone} once",
        id="oncall-without-phone",
    ),
    pytest.param(
        '[language.en]\noncall = "call {phone} or {other}"\n',
        "`language.en.oncall` must hold {phone} once",
        id="oncall-other-field",
    ),
    pytest.param(
        '[language.en]\nseparator = ""\n', "`language.en.separator` must be a short", id="sep"
    ),
    pytest.param(
        '[language.en]\ncomma = ", "\n', "unknown key `language.en.comma`", id="language-key"
    ),
    pytest.param(
        '[language.fr]\noncall = "appelle le {phone}"\n',
        "`language.fr` needs `separator`",
        id="language-incomplete",
    ),
    pytest.param('language = "en"\n', "`language` must be tables", id="language-not-table"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_a_malformed_file_is_a_clear_error_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _file(tmp_path, text)
    country = "ZZ" if "country.ZZ]" in text else "US"
    with pytest.raises(ValueError, match=re.escape(message)) as exc:
        CrisisLines.load(path, country=country)
    assert str(exc.value).startswith(str(path)), exc.value


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ValueError, match="cannot read the crisis lines file") as exc:
        CrisisLines.load(path)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("phone", ["call me", "555-0100; rm", "<b>555</b>", "1" * 31])
def test_an_on_call_number_that_is_not_a_phone_number_is_refused(phone: str) -> None:
    with pytest.raises(ValueError, match=r"on-call phone \(AFTERCARE_ONCALL_PHONE\)"):
        CrisisLines.load(oncall=phone)


def test_client_context_gives_the_crisis_variables_with_safe_defaults() -> None:
    en = client_context(ClientFacts("Sam", "en"), None, ON)
    assert (en["emergency_number"], en["care_team"]) == ("911", "yes")
    assert en["crisis_lines"] == CrisisLines.load().for_language("en")["crisis_lines"]
    es = client_context(ClientFacts("Ana", "es"), None, ON)
    assert es["crisis_lines"] == CrisisLines.load().for_language("es")["crisis_lines"]
    stranger = ClientFacts("Kim", "en", crisis=CrisisLines.load(oncall=ONCALL), care_team=False)
    context = client_context(stranger, None, ON)
    assert context["care_team"] == ""
    assert str(context["crisis_lines"]).startswith("call your program's on-call line")
    for facts in SAMPLE_CLIENT.values():  # the samples the check and previews use
        assert {"crisis_lines", "emergency_number", "care_team"} <= set(
            client_context(facts, None, ON)
        )


def test_the_crisis_variables_are_for_client_messages_only() -> None:
    renderer = Renderer()
    body = "{% if care_team %}Told.{% endif %} You can {{ crisis_lines }}; {{ emergency_number }}."
    assert renderer.check(body, "client") == []
    assert {p.kind for p in renderer.check(body, "staff")} == {"variable"}


@pytest.mark.parametrize("care_team", [True, False], ids=["care-team", "no-care-team"])
@pytest.mark.parametrize("oncall", [ONCALL, None], ids=["oncall", "no-oncall"])
@pytest.mark.parametrize("source", CRISIS, ids=lambda s: f"{s.meta.language}/{s.meta.id}")
def test_every_crisis_response_renders_with_the_lines(
    source: Source, oncall: str | None, care_team: bool
) -> None:
    language = source.meta.language
    lines = CrisisLines.load(oncall=oncall)
    facts = ClientFacts("Zoë <Z>", language, crisis=lines, care_team=care_team)
    text = Renderer().render(source.body, client_context(facts, None, ON)).text
    assert "911" in text and "988" in text
    assert ("555-0100" in text) is (oncall is not None)
    if oncall:
        assert text.index("555-0100") < text.index("988")  # the program's own line first
    assert (CARE_TEAM[language] in text) is care_team  # never promise a team to a stranger
    if language == "es":
        assert "marca 2" in text and "AYUDA" in text
        assert "call or text" not in text
    assert not ARTIFACTS.search(text), text
    assert len(text) <= 700, f"{len(text)} characters"
    findings = lint(text, language=language, category=source.meta.category)
    assert findings == [], describe(findings)


@pytest.mark.parametrize("source", CRISIS, ids=lambda s: f"{s.meta.language}/{s.meta.id}")
def test_a_crisis_response_writes_no_number_of_its_own(source: Source, tmp_path: Path) -> None:
    """Numbers come from the data file, so a deployment elsewhere never sends US numbers."""
    lines = CrisisLines.load(_file(tmp_path, DEPLOYMENT), country="ZZ")
    facts = ClientFacts("Sam", source.meta.language, crisis=lines)
    text = Renderer().render(source.body, client_context(facts, None, ON)).text
    assert "112" in text and "555-0101" in text
    for us in ("911", "988", "741741", "1-800"):
        assert us not in text, us
