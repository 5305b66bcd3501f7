"""MI lint: a corpus of MI-inconsistent messages it must flag, and MI-consistent ones it must pass.

Each bad message is paired with the rule it breaks; each good one is something the content guide
asks for (open questions, reflections, affirmations, advice with permission, crisis instructions).
"""

from __future__ import annotations

import pytest

from service.content.library import Category, Technique
from service.content.lint import REASONS, Finding, lint, lint_exchange

C = Category
T = Technique
OPENER = (C.checkin_opener, T.open_question)
CHANGE = (C.change_talk, T.change_talk)
ANY: tuple[Category | None, Technique | None] = (None, None)


def bad(
    text: str,
    language: str,
    rule: str,
    id: str,
    kind: tuple[Category | None, Technique | None] = ANY,
) -> object:
    return pytest.param(text, language, kind[0], kind[1], rule, id=id)


BAD = [
    # Lecturing, "should", orders.
    bad("You should go to a meeting tonight.", "en", "directive", "en-should"),
    bad("I think you need to stop drinking for good.", "en", "directive", "en-need-to"),
    bad("You have to call your sponsor every day.", "en", "directive", "en-have-to"),
    bad("You must stay away from your old friends.", "en", "directive", "en-must"),
    bad("You'd better not skip another meeting.", "en", "directive", "en-you-d-better"),
    bad("Stop making excuses.", "en", "directive", "en-stop"),
    bad("Don't drink this weekend, okay.", "en", "directive", "en-dont"),
    bad("Make sure you take your medication.", "en", "directive", "en-make-sure"),
    bad("Remember to go to your meeting tonight.", "en", "directive", "en-remember-to"),
    bad("{{ first_name }}, stop hanging around that bar.", "en", "directive", "en-name-stop"),
    bad("Just don't pick up the first drink today.", "en", "directive", "en-just-dont"),
    bad("Debes ir a tu reunión hoy.", "es", "directive", "es-debes"),
    bad("Deberías llamar a tu padrino.", "es", "directive", "es-deberias"),
    bad("Tienes que dejar de beber.", "es", "directive", "es-tienes-que"),
    bad("Necesitas cambiar de amigos.", "es", "directive", "es-necesitas"),
    bad("Hay que ser fuerte todos los días.", "es", "directive", "es-hay-que"),
    bad("Deja de poner excusas.", "es", "directive", "es-deja-de"),
    bad("No vuelvas a tomar.", "es", "directive", "es-no-vuelvas"),
    bad("Asegúrate de tomar tus medicinas.", "es", "directive", "es-asegurate"),
    bad("No tomes nada este fin de semana.", "es", "directive", "es-no-tomes"),
    bad("Ana, deja de salir con esa gente.", "es", "directive", "es-name-deja-de"),
    bad("Recuerda ir a tu reunión del jueves.", "es", "directive", "es-recuerda-ir"),
    # Labels.
    bad("Once an addict, always an addict.", "en", "label", "en-addict"),
    bad("You're a recovering alcoholic, and that takes work.", "en", "label", "en-alcoholic"),
    bad("Junkies rarely get a second chance like this.", "en", "label", "en-junkie"),
    bad("Great job staying clean this week!", "en", "label", "en-staying-clean"),
    bad("Congrats on 30 days clean!", "en", "label", "en-days-clean"),
    bad("Your last test came back dirty, so you were dirty.", "en", "label", "en-dirty"),
    bad("Nobody likes a drunk at a family dinner.", "en", "label", "en-drunk"),
    bad("Un adicto nunca deja de serlo.", "es", "label", "es-adicto"),
    bad("Ya no eres un borracho.", "es", "label", "es-borracho"),
    bad("Felicidades por mantenerte limpio.", "es", "label", "es-mantenerte-limpio"),
    bad("Llevas un mes limpia, qué bien.", "es", "label", "es-mes-limpia"),
    bad("Los alcohólicos necesitan estructura.", "es", "label", "es-alcoholicos"),
    bad("Mucha gente piensa que eres un yonqui.", "es", "label", "es-yonqui"),
    # Warnings, threats, confrontation.
    bad("If you don't stop, you'll lose your kids.", "en", "confrontation", "en-if-you-dont"),
    bad("You're going to lose your family this way.", "en", "confrontation", "en-going-to-lose"),
    bad("You're in denial about your drinking.", "en", "confrontation", "en-denial"),
    bad("Drinking again would be dangerous for you.", "en", "confrontation", "en-dangerous"),
    bad("Be careful around your old crowd.", "en", "confrontation", "en-be-careful"),
    bad("I'm disappointed that you used again.", "en", "confrontation", "en-disappointed"),
    bad("So now you're back to day one.", "en", "confrontation", "en-back-to-day-one"),
    bad("Think about the consequences next time.", "en", "confrontation", "en-consequences"),
    bad("You will relapse if you go to that party.", "en", "confrontation", "en-will-relapse"),
    bad("Si no dejas de tomar, vas a perder tu trabajo.", "es", "confrontation", "es-si-no"),
    bad("Estás en negación.", "es", "confrontation", "es-negacion"),
    bad("Beber otra vez es peligroso para ti.", "es", "confrontation", "es-peligroso"),
    bad("Estoy decepcionado de lo que pasó.", "es", "confrontation", "es-decepcionado"),
    bad("Si vuelves a consumir, lo perderás todo.", "es", "confrontation", "es-perderas"),
    bad("Ahora vas a tener que empezar de cero.", "es", "confrontation", "es-empezar-de-cero"),
    # Advice without permission.
    bad("I suggest going to bed earlier this week.", "en", "advice", "en-suggest"),
    bad("My advice is to find a new group of friends.", "en", "advice", "en-my-advice"),
    bad("The best thing to do is call your sponsor.", "en", "advice", "en-best-thing"),
    bad("You might want to skip the party.", "en", "advice", "en-might-want-to"),
    bad("It's important to get enough sleep.", "en", "advice", "en-important-to"),
    bad("Why don't you try going for a walk?", "en", "advice", "en-why-dont-you"),
    bad("Te sugiero que duermas más.", "es", "advice", "es-te-sugiero"),
    bad("Mi consejo es que busques otros amigos.", "es", "advice", "es-mi-consejo"),
    bad("Lo mejor es que llames a tu padrino.", "es", "advice", "es-lo-mejor"),
    bad("¿Por qué no intentas salir a caminar?", "es", "advice", "es-por-que-no"),
    # Closed questions where an open one is meant.
    bad("Are you feeling okay today?", "en", "closed_question", "en-are-you", OPENER),
    bad("Did you drink this weekend?", "en", "closed_question", "en-did-you", OPENER),
    bad("Have you thought about your goals?", "en", "closed_question", "en-have-you", CHANGE),
    bad("Sam, is everything alright?", "en", "closed_question", "en-name-is", OPENER),
    bad("Anything new this week?", "en", "closed_question", "en-anything", OPENER),
    bad("Feeling okay today?", "en", "closed_question", "en-elliptical", OPENER),
    bad("Do you want to cut back?", "en", "closed_question", "en-do-you", CHANGE),
    bad("¿Estás bien hoy?", "es", "closed_question", "es-estas", OPENER),
    bad("¿Has tomado esta semana?", "es", "closed_question", "es-has", OPENER),
    bad("¿Fuiste a tu reunión?", "es", "closed_question", "es-fuiste", OPENER),
    bad("Ana, ¿te sientes mejor?", "es", "closed_question", "es-name-te-sientes", OPENER),
    bad("¿Quieres dejar de beber?", "es", "closed_question", "es-quieres", CHANGE),
    # Stacked questions.
    bad("How was your day? What did you do?", "en", "stacked_questions", "en-two"),
    bad("What went well? What was hard? Who helped?", "en", "stacked_questions", "en-three"),
    bad("¿Cómo estás? ¿Qué hiciste hoy?", "es", "stacked_questions", "es-two"),
    # Privacy: treatment, diagnoses, programmes.
    bad("How is rehab treating you?", "en", "privacy", "en-rehab"),
    bad("How are you feeling after detox?", "en", "privacy", "en-detox"),
    bad("Your diagnosis doesn't define you.", "en", "privacy", "en-diagnosis"),
    bad("Everyone at the treatment center is proud of you.", "en", "privacy", "en-center"),
    bad("Living with addiction takes courage.", "en", "privacy", "en-addiction"),
    bad("How is the methadone working for you?", "en", "privacy", "en-methadone"),
    bad("What did you take away from AA this week?", "en", "privacy", "en-aa"),
    bad("¿Cómo va la rehabilitación?", "es", "privacy", "es-rehabilitacion"),
    bad("¿Cómo te sientes después de la desintoxicación?", "es", "privacy", "es-desintox"),
    bad("Tu diagnóstico no te define.", "es", "privacy", "es-diagnostico"),
    bad("Todo el centro de tratamiento te manda saludos.", "es", "privacy", "es-centro"),
    bad("Vivir con una adicción requiere valor.", "es", "privacy", "es-adiccion"),
]


@pytest.mark.parametrize(("text", "language", "category", "technique", "rule"), BAD)
def test_a_message_against_mi_is_flagged_with_its_rule(
    text: str,
    language: str,
    category: Category | None,
    technique: Technique | None,
    rule: str,
) -> None:
    findings = lint(text, language=language, category=category, technique=technique)
    assert rule in {finding.rule for finding in findings}, findings


def good(
    text: str,
    language: str,
    category: Category,
    technique: Technique,
    id: str,
) -> object:
    return pytest.param(text, language, category, technique, id=id)


GOOD = [
    # Open questions.
    good("How is today treating you so far, {{ first_name }}?", "en", *OPENER, "en-how"),
    good("What's been on your mind this week?", "en", *OPENER, "en-what"),
    good("Who has been in your corner lately?", "en", *OPENER, "en-who"),
    good("Which moment of today would you like to keep?", "en", *OPENER, "en-which"),
    good("Tell me about something that went well this week.", "en", *OPENER, "en-tell-me"),
    good("In your own words, how did today go?", "en", *OPENER, "en-in-your-words"),
    good("What would you need to feel ready for the weekend?", "en", *CHANGE, "en-would-you-need"),
    good("What would it take for you to feel more rested?", "en", *CHANGE, "en-would-it-take"),
    good("What makes this change important to you right now?", "en", *CHANGE, "en-change"),
    good(
        "On a scale from 0 to 10, how strong is the craving right now?",
        "en",
        C.scale_question,
        T.open_question,
        "en-scale",
    ),
    good(
        "It's been a while, and there's no pressure. What's been happening for you?",
        "en",
        C.reengagement,
        T.open_question,
        "en-reengagement",
    ),
    # Reflections and affirmations.
    good(
        "It sounds like this week asked a lot of you.",
        "en",
        C.values_reflection,
        T.reflection,
        "en-sounds-like",
    ),
    good(
        "You said family matters most, {{ first_name }}, and you keep showing up for them.",
        "en",
        C.values_reflection,
        T.reflection,
        "en-you-said",
    ),
    good(
        "You kept going on a hard day, and that took real effort.",
        "en",
        C.affirmation,
        T.affirmation,
        "en-affirm-effort",
    ),
    good(
        "Reaching out when things got rough took courage.",
        "en",
        C.affirmation,
        T.affirmation,
        "en-affirm-courage",
    ),
    good(
        "You've handled hard weekends before. What helped you then?",
        "en",
        C.self_efficacy,
        T.self_efficacy,
        "en-self-efficacy",
    ),
    good(
        "Thirty days without using, {{ first_name }}. That is your own steady work.",
        "en",
        C.milestone,
        T.affirmation,
        "en-milestone",
    ),
    good(
        "Thanks for telling me. What do you think led up to it?",
        "en",
        C.relapse_response,
        T.reflection,
        "en-relapse",
    ),
    # Advice with permission.
    good(
        "If it helps, some people find a short walk takes the edge off a craving.",
        "en",
        C.scale_followup,
        T.reflection,
        "en-if-it-helps",
    ),
    good(
        "If you'd like, you could try writing down what you felt before it started.",
        "en",
        C.relapse_response,
        T.reflection,
        "en-if-youd-like-you-could-try",
    ),
    # Crisis: plain instructions are the point.
    good(
        "If you or someone near you may be overdosing, call 911 now.",
        "en",
        C.crisis_response,
        T.information,
        "en-crisis-overdose",
    ),
    good(
        "Call or text 988 now to reach the Suicide & Crisis Lifeline, free and open 24/7.",
        "en",
        C.crisis_response,
        T.information,
        "en-crisis-988",
    ),
    good(
        "Got it, messages are paused. Send /resume whenever you're ready.",
        "en",
        C.pause_confirmation,
        T.information,
        "en-pause",
    ),
    good(
        "Client K7QX3M reported a relapse. Severity: high. Open the console to follow up.",
        "en",
        C.staff_alert,
        T.information,
        "en-staff",
    ),
    # Spanish.
    good("¿Con quién has podido hablar esta semana?", "es", *OPENER, "es-con-quien"),
    good("¿Quiénes te han acompañado estos días?", "es", *OPENER, "es-quienes"),
    good("¿Qué te ha ayudado a sentirte mejor estos días?", "es", *OPENER, "es-que"),
    good("Hola, {{ first_name }}. ¿Cómo ha estado tu día?", "es", *OPENER, "es-como"),
    good("¿Cuál fue el mejor momento de tu semana?", "es", *OPENER, "es-cual"),
    good("Cuéntame cómo va tu día, con lo bueno y lo no tan bueno.", "es", *OPENER, "es-cuentame"),
    good("Pensando en estos días, ¿qué te ha dado un poco de calma?", "es", *OPENER, "es-pensando"),
    good(
        "¿Qué necesitarías para sentirte listo este fin de semana?",
        "es",
        *CHANGE,
        "es-que-necesitarias",
    ),
    good("¿Para qué te gustaría usar este tiempo?", "es", *CHANGE, "es-para-que"),
    good(
        "Del 0 al 10, ¿qué tan fuerte es el antojo ahora?",
        "es",
        C.scale_question,
        T.open_question,
        "es-scale",
    ),
    good(
        "Parece que esta semana te pidió mucho.",
        "es",
        C.values_reflection,
        T.reflection,
        "es-parece-que",
    ),
    good(
        "Dijiste que tu familia es lo más importante para ti.",
        "es",
        C.values_reflection,
        T.reflection,
        "es-dijiste",
    ),
    good(
        "Seguiste adelante en un día difícil, y eso tiene mérito.",
        "es",
        C.affirmation,
        T.affirmation,
        "es-affirm",
    ),
    good(
        "Treinta días sin consumir: ¿qué te ha ayudado más en el camino?",
        "es",
        C.milestone,
        T.affirmation,
        "es-milestone",
    ),
    good(
        "Gracias por contármelo. ¿Qué crees que pasó antes?",
        "es",
        C.relapse_response,
        T.reflection,
        "es-relapse",
    ),
    good(
        "Si te sirve, a algunas personas les ayuda caminar un rato cuando aparece el antojo.",
        "es",
        C.scale_followup,
        T.reflection,
        "es-si-te-sirve",
    ),
    good(
        "Si quieres, podrías intentar escribir lo que sentiste antes.",
        "es",
        C.relapse_response,
        T.reflection,
        "es-si-quieres-podrias-intentar",
    ),
    good(
        "Ha pasado un tiempo y no hay ninguna prisa. ¿Cómo has estado?",
        "es",
        C.reengagement,
        T.open_question,
        "es-reengagement",
    ),
    good(
        "Si tú o alguien cerca puede estar en una sobredosis, llama al 911 ahora.",
        "es",
        C.crisis_response,
        T.information,
        "es-crisis-overdose",
    ),
    good(
        "Llama o escribe al 988 ahora mismo; es gratis y atiende las 24 horas.",
        "es",
        C.crisis_response,
        T.information,
        "es-crisis-988",
    ),
    good(
        "Listo, pausé los mensajes. Escribe /resume cuando quieras.",
        "es",
        C.pause_confirmation,
        T.information,
        "es-pause",
    ),
]


@pytest.mark.parametrize(("text", "language", "category", "technique"), GOOD)
def test_an_mi_consistent_message_passes(
    text: str, language: str, category: Category, technique: Technique
) -> None:
    assert lint(text, language=language, category=category, technique=technique) == []


CRISIS_ORDERS = [
    pytest.param("Call 911 now.", "en", id="en-call-911"),
    pytest.param("Call or text 988 now, it's free and open 24/7.", "en", id="en-call-988"),
    pytest.param("You need to call 911 right away.", "en", id="en-you-need-to"),
    pytest.param("Llama al 911 ahora.", "es", id="es-llama-911"),
    pytest.param("Tienes que llamar al 911 ya mismo.", "es", id="es-tienes-que"),
]


@pytest.mark.parametrize(("text", "language"), CRISIS_ORDERS)
def test_only_a_crisis_response_may_say_plainly_what_to_do(text: str, language: str) -> None:
    crisis = lint(text, language=language, category=C.crisis_response, technique=T.information)
    assert crisis == []
    for category in (C.checkin_opener, C.scale_followup, C.pause_confirmation, None):
        elsewhere = lint(text, language=language, category=category)
        assert [finding.rule for finding in elsewhere] == ["directive"], category


def test_privacy_is_exempt_in_crisis_responses_but_labels_are_not() -> None:
    text = "Call 911 now; detox alone can be risky, and addicts deserve care too."
    rules = {f.rule for f in lint(text, language="en", category=C.crisis_response)}
    assert rules == {"label"}


def test_a_closed_question_is_fine_where_no_open_question_is_meant() -> None:
    text = "Would it be okay if I shared something that has helped others?"
    assert lint(text, language="en", category=C.scale_followup, technique=T.reflection) == []
    opener = lint(text, language="en", category=C.checkin_opener, technique=T.open_question)
    assert [finding.rule for finding in opener] == ["closed_question"]


def test_every_finding_carries_its_reason_and_the_words_it_found() -> None:
    seen: set[str] = set()
    for case in BAD:
        text, language, category, technique, _rule = case.values  # type: ignore[attr-defined]
        plain = text.replace("{{ first_name }}", "X")
        for finding in lint(text, language=language, category=category, technique=technique):
            seen.add(finding.rule)
            assert finding.reason.strip()
            assert finding.reason == REASONS[finding.rule]
            assert finding.excerpt
            assert finding.excerpt.lower() in plain.lower()
    assert seen >= set(REASONS) - {"question_ratio"}


def test_line_numbers_point_at_the_offending_line_of_a_multi_line_text() -> None:
    text = (
        "{{ first_name }}, it sounds like work has been heavy.\n"
        "You kept at it anyway.\n"
        "\n"
        "You should take a day off.\n"
        "How is rehab going? What else is new?\n"
    )
    findings = lint(text, language="en", category=C.scale_followup, technique=T.reflection)
    assert {(f.rule, f.line) for f in findings} == {
        ("directive", 4),
        ("privacy", 5),
        ("stacked_questions", 5),
    }
    shifted = lint(text, language="en", category=C.scale_followup, first_line=9)
    assert sorted(f.line for f in shifted) == [12, 13, 13]


def test_line_numbers_skip_template_tags_that_span_lines() -> None:
    text = "{% if reason %}\nYou said: {{ reason }}.\n{% endif %}\nDebes volver.\n"
    findings = lint(text, language="es", category=C.values_reflection)
    assert [(f.rule, f.line) for f in findings] == [("directive", 4)]


def test_stacked_questions_point_at_the_second_question() -> None:
    text = "¿Cómo estás hoy?\n¿Qué planes tienes?"
    [finding] = lint(text, language="es", category=C.checkin_opener, technique=T.open_question)
    assert (finding.rule, finding.line, finding.excerpt) == (
        "stacked_questions",
        2,
        "¿Qué planes tienes?",
    )


def test_an_unknown_language_is_linted_as_english() -> None:
    findings = lint("You should rest.", language="fr")
    assert [finding.rule for finding in findings] == ["directive"]


def ratio(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.rule, finding.excerpt) for finding in findings]


def test_an_exchange_with_more_questions_than_reflections_is_flagged() -> None:
    turns: list[tuple[str, Technique | None]] = [
        ("How was your day?", T.open_question),
        ("What made it hard?", T.open_question),
        ("It sounds like the evening was the toughest part.", None),
        ("What would help tonight?", T.open_question),
    ]
    findings = lint_exchange(turns, language="en")
    assert ratio(findings) == [("question_ratio", "3 questions, 1 reflections")]
    assert findings[0].reason == REASONS["question_ratio"]


def test_a_balanced_exchange_passes() -> None:
    turns: list[tuple[str, Technique | None]] = [
        ("How was your day?", T.open_question),
        ("It sounds like the evening was the toughest part.", None),
        ("What would help tonight?", T.open_question),
        ("Your kids came to mind first.", T.reflection),  # a reflection by its technique
    ]
    assert lint_exchange(turns, language="en") == []


def test_an_exchange_in_spanish_counts_spanish_reflections() -> None:
    balanced: list[tuple[str, Technique | None]] = [
        ("¿Cómo te fue hoy?", T.open_question),
        ("Parece que la tarde fue lo más difícil.", None),
    ]
    assert lint_exchange(balanced, language="es") == []
    # A question phrased like a reflection is still a question, not a reflection.
    lopsided: list[tuple[str, Technique | None]] = [
        ("¿Cómo te fue hoy?", T.open_question),
        ("¿Parece que la tarde fue lo más difícil?", None),
    ]
    assert ratio(lint_exchange(lopsided, language="es")) == [
        ("question_ratio", "2 questions, 0 reflections")
    ]


@pytest.mark.parametrize(
    ("advice", "offer", "language"),
    [
        pytest.param(
            "You could try writing down what happened.",
            "If it helps, you could try writing down what happened.",
            "en",
            id="en",
        ),
        pytest.param(
            "Te recomiendo escribir lo que pasó.",
            "Si te sirve, te recomiendo escribir lo que pasó.",
            "es",
            id="es",
        ),
    ],
)
def test_asking_permission_turns_advice_into_an_offer(
    advice: str, offer: str, language: str
) -> None:
    kind = {"category": C.scale_followup, "technique": T.reflection}
    assert [f.rule for f in lint(advice, language=language, **kind)] == ["advice"]
    assert lint(offer, language=language, **kind) == []
