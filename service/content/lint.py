"""MI lint: what in a message works against Motivational Interviewing, and why.

Pure and MITI-informed: it flags the MI-non-adherent moves a machine can see in a message (orders
and "should", labels, warnings and confrontation, advice without permission, closed questions
where an open one is meant, stacked questions, treatment details that breach privacy) and, over a
conversational exchange, more questions than reflections. Each finding carries its reason, so an
author learns the principle, not just the rule. English and Spanish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.content.library import Category, Technique

Pattern = re.Pattern[str]


@dataclass(frozen=True)
class Finding:
    rule: str
    line: int  # 1-based line of the text that was linted
    excerpt: str
    reason: str


def _words(*alternatives: str) -> Pattern:
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")(?![\w'])", re.IGNORECASE)


REASONS = {
    "directive": (
        "tells the client what to do; MI invites and supports autonomy instead "
        "(an order or 'should' provokes resistance)"
    ),
    "label": (
        "labels the person; use person-first words such as 'in recovery' or 'days without "
        "using', never a judgment"
    ),
    "confrontation": (
        "warns, threatens or confronts; MI rolls with resistance and leaves the conclusions "
        "to the client"
    ),
    "advice": (
        "gives advice without asking permission; ask first or make it clearly optional "
        "('if it helps, ...')"
    ),
    "closed_question": (
        "a yes/no question where an open one is meant; ask 'what', 'how' or 'tell me' so the "
        "client can answer in their own words"
    ),
    "stacked_questions": "more than one question in one message; ask one and listen",
    "privacy": (
        "names treatment or a diagnosis; a message can be read over a shoulder or on a lock "
        "screen, so keep it out"
    ),
    "question_ratio": (
        "more questions than reflections in the exchange; MI aims for at least one reflection "
        "per question (MITI)"
    ),
}

DIRECTIVE_MODALS = {
    "en": re.compile(
        r"(?<!would )(?<!could )(?<!might )(?<!do )(?<!did )(?<!will )"
        r"\byou(?:(?:'ll| will| really)? (?:should|must|need to|have to|ought to|gotta|better)"
        r"|(?:'d| had) better)\b",
        re.IGNORECASE,
    ),
    "es": _words(
        r"debes",
        r"deberías",
        r"deberias",
        r"tienes que",
        r"tendrás que",
        r"hay que",
        r"necesitas \w+(?:ar|er|ir)",
    ),
}
IMPERATIVE_OPENINGS = {
    "en": re.compile(
        r"^(?:[\w-]+, )?(?P<order>(?:please,? |just )?(?:stop|quit|don'?t|do not|never|avoid|"
        r"make sure|remember to|try to|be sure to|stay away|focus on|get back|keep away|"
        r"you need|call|go to|reach out to|talk to))\b",
        re.IGNORECASE,
    ),
    "es": re.compile(
        r"^(?:[\w-]+, )?(?P<order>(?:por favor,? )?(?:deja de|no vuelvas|evita|asegúrate|"
        r"recuerda que debes|recuerda \w*(?:ar|er|ir)|no olvides|intenta|procura|nunca|"
        r"no dejes|aléjate|concéntrate en|llama|ve a|habla con|busca|"
        r"no (?:tomes|bebas|consumas|uses|recaigas|faltes|te rindas)))\b",
        re.IGNORECASE,
    ),
}
LABELS = {
    "en": [
        _words(
            r"addicts?",
            r"alcoholics?",
            r"junkies?",
            r"drunks?",
            r"(?:drug|substance|alcohol) abusers?",
            r"abusers?",
            r"druggies?",
            r"crackheads?",
            r"dope ?fiends?",
            r"(?:drug|substance|alcohol) abuse",
        ),
        re.compile(
            r"\b(?:stay(?:ing|ed)?|get(?:ting)?|got|being|been|you'?re|you are|were|was)"
            r" (?:clean|dirty)\b|\b(?:clean|dirty) (?:time|days?|tests?|urine|screens?)\b"
            r"|\b(?:days?|weeks?|months?|years?) clean\b",
            re.IGNORECASE,
        ),
    ],
    "es": [
        _words(
            r"adict[oa]s?",
            r"alcohólic[oa]s?",
            r"alcoholic[oa]s?",
            r"drogadict[oa]s?",
            r"yonquis?",
            r"borrach[oa]s?",
            r"vicios[oa]s?",
            r"drogatas?",
            r"tecatos?",
        ),
        re.compile(
            r"\b(?:mantenerte|seguir|sigues|estar|estás|estuviste|quedarte|andar|llevas)"
            r" (?:limpi[oa]s?|suci[oa]s?)\b|\b(?:días|semanas|mes|meses|año|años) limpi[oa]s?\b",
            re.IGNORECASE,
        ),
    ],
}
CONFRONTATION = {
    "en": _words(
        r"if you don'?t",
        r"if you do not",
        r"unless you",
        r"you'?ll lose",
        r"you will lose",
        r"you'?ll end up",
        r"you will end up",
        r"you(?:'re| are) going to (?:lose|end up|regret|relapse|die)",
        r"you(?:'ll| will) relapse",
        r"in denial",
        r"denial",
        r"you'?re lying",
        r"consequences?",
        r"warning",
        r"be careful",
        r"dangerous",
        r"you could die",
        r"you'?ll regret",
        r"last chance",
        r"disappointed",
        r"disappointing",
        r"back to day (?:one|1)",
        r"start(?:ing)? over from scratch",
    ),
    "es": _words(
        r"si no (?:dejas|paras|cambias|haces|vienes)",
        r"a menos que",
        r"vas a (?:perder|recaer|terminar|acabar)",
        r"recaerás",
        r"perderás",
        r"terminarás",
        r"acabarás",
        r"negación",
        r"estás mintiendo",
        r"consecuencias?",
        r"cuidado con",
        r"ten cuidado",
        r"peligros[oa]s?",
        r"te vas a arrepentir",
        r"última oportunidad",
        r"decepcionad[oa]s?",
        r"decepción",
        r"(?:volver a )?empezar de cero",
    ),
}
ADVICE = {
    "en": _words(
        r"I (?:would )?(?:suggest|recommend|advise)",
        r"my advice",
        r"the best thing (?:to do )?is",
        r"what you need is",
        r"you could try",
        r"why don'?t you",
        r"try to",
        r"you might want to",
        r"it'?s important (?:to|that you)",
        r"it would be (?:good|best|wise) (?:to|if you)",
    ),
    "es": _words(
        r"te (?:sugiero|recomiendo|aconsejo)",
        r"mi consejo",
        r"lo mejor (?:es|sería)",
        r"lo que necesitas es",
        r"podrías intentar",
        r"por qué no (?:intentas|pruebas|vas|llamas|haces)",
        r"intenta",
        r"es importante que",
    ),
}
PERMISSION = {
    "en": _words(
        r"if you'?d like",
        r"if you want",
        r"if it helps",
        r"if that fits",
        r"would it help",
        r"would it be (?:ok|okay|alright)",
        r"can I share",
        r"may I share",
        r"only if",
        r"if you feel like it",
    ),
    "es": _words(
        r"si quieres",
        r"si te sirve",
        r"si te parece",
        r"te parece",
        r"si te ayuda",
        r"si te late",
        r"solo si",
        r"te gustaría que",
    ),
}
CLOSED_START = {
    "en": re.compile(
        r"^(?:(?:so|and|also|today|now|hey|hi)[, ]+)*(?:[A-Z][\w'-]*, )?"
        r"(?:are|is|am|was|were|do|does|did|have|has|had|can|could|will|would|should|shall|"
        r"may|might|any|anything|everything|feeling|doing|still|ready)\b",
        re.IGNORECASE,
    ),
    "es": re.compile(r".*"),  # Spanish: closed unless an interrogative word opens it (below)
}
OPEN_START_ES = re.compile(
    r"^(?:y |pues |entonces |hoy |ahora |oye |hola )*(?:[\w-]+, )?(?:cuéntame|"
    r"(?:(?:a|al|de|del|con|para|por|en|desde|hasta|sobre|hacia) )?"
    r"(?:qué|que|cómo|como|cuál|cuáles|cuánto|cuánta|cuántos|cuántas|dónde|adónde|cuándo|"
    r"quién|quiénes))\b",
    re.IGNORECASE,
)
PRIVACY = {
    "en": _words(
        r"rehab(?:ilitation)?",
        r"detox(?:ification)?",
        r"(?-i:AA|NA)",
        r"(?:alcoholics|narcotics) anonymous",
        r"methadone",
        r"suboxone",
        r"buprenorphine",
        r"naltrexone",
        r"addiction",
        r"substance use disorder",
        r"treatment (?:center|centre|facility|program)",
        r"diagnos(?:is|ed|es)",
    ),
    "es": _words(
        r"rehabilitación",
        r"desintoxicación",
        r"adicción",
        r"adicciones",
        r"trastorno por consumo",
        r"(?:centro|programa) de tratamiento",
        r"diagnóstico",
        r"diagnosticad[oa]s?",
        r"diagnosticaron",
        r"(?-i:AA|NA)",
        r"(?:alcohólicos|narcóticos) anónimos",
        r"metadona",
        r"suboxone",
        r"buprenorfina",
        r"naltrexona",
    ),
}
REFLECTION_OPENINGS = {
    "en": re.compile(
        r"^(?:it sounds like|sounds like|it seems|you'?re feeling|you feel|you said|you've said|"
        r"you told me|you mentioned|so you|you're saying|it's been|you've been)\b",
        re.IGNORECASE,
    ),
    "es": re.compile(
        r"^(?:parece que|suena a que|suena como|me dices que|me dijiste|dijiste|mencionaste|"
        r"me contaste|te sientes|sientes que|has estado|estás sintiendo)\b",
        re.IGNORECASE,
    ),
}
OPEN_TECHNIQUES = frozenset({Technique.open_question, Technique.change_talk})
# Safety first: an emergency message may say plainly what to do; information texts for staff
# and crisis are not conversation, so the privacy rule does not apply to them either.
EXEMPT = {
    Category.crisis_response: frozenset({"directive", "privacy"}),
    Category.staff_alert: frozenset({"directive", "privacy", "label"}),
}
SENTENCE = re.compile(r"[^.!?¿¡\n]*(?:[¿¡][^?!]*[?!]|[^.!?\n]*[.!?]+|[^.!?\n]+$)", re.MULTILINE)
# Markup and template tags. A tag ends before the next one opens, so that many unclosed openers
# ("<" or "{{" thousands of times) are each given up at once, not read to the end of the text.
MARKUP = re.compile(
    r"<[^<>]+>|\{\{(?:(?!\{\{).)*?\}\}|\{%(?:(?!\{%).)*?%\}|\{#(?:(?!\{#).)*?#\}", re.DOTALL
)


def _sentences(text: str) -> list[tuple[int, str]]:
    """(line, sentence) pairs of the visible text: markup and template tags removed."""
    plain = MARKUP.sub(lambda m: "X" if m.group(0).startswith("{{") else "", text)
    found = []
    for match in SENTENCE.finditer(plain):
        sentence = match.group(0).strip()
        if sentence:
            found.append((plain.count("\n", 0, match.start()) + 1, sentence))
    return found


def _is_question(sentence: str) -> bool:
    return sentence.endswith("?")


def _question_body(sentence: str) -> str:
    return sentence.split("¿", 1)[1] if "¿" in sentence else sentence


def lint(
    text: str,
    *,
    language: str,
    category: Category | None = None,
    technique: Technique | None = None,
    first_line: int = 1,
) -> list[Finding]:
    """Findings for one message (a template body or a rendered text)."""
    language = language if language in DIRECTIVE_MODALS else "en"
    exempt = EXEMPT.get(category, frozenset()) if category is not None else frozenset()
    findings: list[Finding] = []

    def flag(rule: str, line: int, excerpt: str) -> None:
        if rule not in exempt:
            findings.append(Finding(rule, first_line + line - 1, excerpt.strip(), REASONS[rule]))

    sentences = _sentences(text)
    has_permission = PERMISSION[language].search(text) is not None
    for line, sentence in sentences:
        question = _is_question(sentence)
        if not question and (match := DIRECTIVE_MODALS[language].search(sentence)):
            flag("directive", line, match.group(0))
        elif match := IMPERATIVE_OPENINGS[language].search(_question_body(sentence).lstrip("¡")):
            flag("directive", line, match.group("order"))
        for pattern in LABELS[language]:
            if match := pattern.search(sentence):
                flag("label", line, match.group(0))
        if match := CONFRONTATION[language].search(sentence):
            flag("confrontation", line, match.group(0))
        if not has_permission and (match := ADVICE[language].search(sentence)):
            flag("advice", line, match.group(0))
        if match := PRIVACY[language].search(sentence):
            flag("privacy", line, match.group(0))
        if question and technique in OPEN_TECHNIQUES and _is_closed(sentence, language):
            flag("closed_question", line, sentence)
    questions = [(line, s) for line, s in sentences if _is_question(s)]
    if len(questions) > 1 and category is not Category.staff_alert:
        flag("stacked_questions", questions[1][0], questions[1][1])
    return findings


def _is_closed(sentence: str, language: str) -> bool:
    body = _question_body(sentence).strip()
    if language == "es":
        return OPEN_START_ES.search(body) is None
    return CLOSED_START["en"].search(body) is not None


def is_reflection(text: str, language: str, technique: Technique | None = None) -> bool:
    if technique is Technique.reflection:
        return True
    language = language if language in REFLECTION_OPENINGS else "en"
    return any(
        REFLECTION_OPENINGS[language].search(sentence) and not _is_question(sentence)
        for _, sentence in _sentences(text)
    )


def lint_exchange(turns: Sequence[tuple[str, Technique | None]], *, language: str) -> list[Finding]:
    """Over the bot's turns in one conversational exchange: more questions than reflections?"""
    questions = sum(1 for text, _ in turns for _, s in _sentences(text) if _is_question(s))
    reflections = sum(1 for text, technique in turns if is_reflection(text, language, technique))
    if questions > reflections:
        excerpt = f"{questions} questions, {reflections} reflections"
        return [Finding("question_ratio", 1, excerpt, REASONS["question_ratio"])]
    return []


def describe(findings: Iterable[Finding]) -> list[str]:
    return [f"line {f.line}: {f.rule}: “{f.excerpt}”: {f.reason}" for f in findings]
