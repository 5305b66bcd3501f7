"""The signals classifier: risk kinds, their evidence, talk type, lexicon files and the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.signals import classifier as classifier_module
from service.signals.classifier import (
    KINDS,
    LEXICONS,
    RISK_KINDS,
    SAFETY_KINDS,
    SEVERITY,
    Classifier,
    Finding,
    Reading,
    _Compiler,
    _first_chars,
    _fold,
    _merge,
    _read,
    default_classifier,
)

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "tests" / "data" / "signals_dev.jsonl"
RED_TEAM_SET = ROOT / "tests" / "data" / "signals_redteam.jsonl"


def kinds(text: str, lang: str | None = None) -> set[str]:
    return {finding.kind for finding in default_classifier().classify(text, lang).signals}


# Each row: text, language (None: try both), the kinds expected (exactly).
RISK_CASES: dict[str, list[tuple[str, str | None, set[str]]]] = {
    "plain": [
        ("I want to die", "en", {"self_harm"}),
        ("i just want to go to sleep and never wake up", "en", {"self_harm"}),
        ("everyone would be better off if I was dead", "en", {"self_harm"}),
        ("I'm not sure I want to live anymore", "en", {"self_harm"}),
        ("I'm writing a goodbye letter to my kids", "en", {"self_harm"}),
        ("my roommate isn't breathing", "en", {"overdose"}),
        ("they had to use Narcan on me", "en", {"overdose", "relapse"}),
        ("I drank last night", "en", {"relapse"}),
        ("had two beers at the game", "en", {"relapse"}),
        ("I really want a drink right now", "en", {"craving"}),
        ("I'm outside the liquor store", "en", {"craving"}),
        ("I need to talk to someone", "en", {"help_request"}),
        ("can someone call me please", "en", {"help_request"}),
    ],
    "negation and scope": [
        ("I'm not ok and I want to die", "en", {"self_harm", "help_request"}),
        ("not going to kill myself", "en", set()),
        ("no thoughts of hurting myself", "en", set()),
        ("I'm not going to drink", "en", set()),
        ("i dont want to die, i just want a break", "en", set()),
        ("I'm not gonna lie, I want to die", "en", {"self_harm"}),
        ("no i want to die", "en", {"self_harm"}),  # a "no" that answers, not negates
        ("no i havent been drinking", "en", set()),
        ("I can't stop thinking about killing myself", "en", {"self_harm"}),
        ("I don't know why I drank last night", "en", {"relapse"}),
        ("nobody od'd, he just fainted", "en", set()),
        ("I don't need anyone to call me, I'm good", "en", set()),
        ("no tengo ganas de consumir", "es", set()),
        ("no me quiero morir, solo estoy cansada", "es", set()),
        ("no estoy bien y quiero morir", "es", {"self_harm", "help_request"}),
    ],
    "time": [
        ("I used to want to die but not anymore", "en", set()),
        ("haven't used in 60 days", "en", set()),
        ("I relapsed back in 2019, that's why I'm careful", "en", set()),
        ("I wanted to kill myself every day when I was a teenager", "en", set()),
        ("had a craving this morning but it passed", "en", set()),
        ("my cousin overdosed last month, the funeral was sad", "en", set()),
        ("ya no pienso en matarme", "es", set()),
        ("antes queria morirme pero ya no", "es", set()),
        ("hace dos años tuve una sobredosis", "es", set()),
        ("I drank last weekend", "en", {"relapse"}),  # recent use is still a report
    ],
    "figurative": [
        ("this heat is killing me", "en", set()),
        ("I'd kill for a coffee", "en", set()),
        ("dying to see my kids", "en", set()),
        ("I nearly died laughing", "en", set()),
        ("overdosed on chocolate lol", "en", set()),
        ("my phone died", "en", set()),
        ("I'd kill for a cold beer", "en", {"craving"}),  # figurative in form, a craving in fact
        ("me muero de risa", "es", set()),
        ("este calor me está matando", "es", set()),
        ("mataría por un cafecito", "es", set()),
        ("me muero por una chela bien fría", "es", {"craving"}),
    ],
    "slang and spelling": [
        ("kms", "en", {"self_harm"}),
        ("thinking about unaliving myself", "en", {"self_harm"}),
        ("I picked up", "en", {"relapse"}),
        ("picked up again", "en", {"relapse"}),
        ("relapsed", "en", {"relapse"}),
        ("i slipped", "en", {"relapse"}),
        ("day 1 again", "en", {"relapse"}),
        ("had to reset my date", "en", {"relapse"}),
        ("got wasted at the party", "en", {"relapse"}),
        ("recaí", "es", {"relapse"}),
        ("recai", "es", {"relapse"}),
        ("volví a consumir", "es", {"relapse"}),
        ("me puse bien pedo el sábado", "es", {"relapse"}),
    ],
    "methods and emoji": [
        ("took 800mg", "en", {"self_harm"}),
        ("800mg x 10 should do it", "en", {"self_harm"}),
        ("took the whole bottle", "en", {"self_harm", "overdose"}),
        ("💊💊💊💊 20 tonight", "en", {"self_harm"}),
        ("there's antifreeze in the garage", "en", {"self_harm"}),
        ("I have 40 tylenol in my hand", "en", {"self_harm"}),
        ("took 20 xanax", "en", {"overdose", "relapse"}),
        ("took 800mg ibuprofen for my back", "en", set()),
        ("I took 2 advil for my headache", "en", set()),
        ("took my meds this morning", "en", set()),
        ("me tomé todo el frasco", "es", {"self_harm", "overdose"}),
        ("me tomé un ibuprofeno para el dolor de muela", "es", set()),
    ],
    "short replies": [
        ("help", "en", {"help_request"}),
        ("not ok", "en", {"help_request"}),
        ("call me", "en", {"help_request"}),
        ("ayuda", "es", {"help_request"}),
        ("estoy mal", "es", {"help_request"}),
        ("ok", "en", set()),
        ("fine", "en", set()),
        ("tired", "en", set()),
        ("bad day", "en", set()),
        ("not great", "en", set()),
        ("👍", "en", set()),
        ("sí", "es", set()),
    ],
    "everyday chatter": [
        ("picked up my kids from school", "en", set()),
        ("picked up an extra shift", "en", set()),
        ("went out to dinner with my wife", "en", set()),
        ("I used the breathing exercise you sent", "en", set()),
        ("had a shot of espresso", "en", set()),
        ("my friend relapsed last night and I'm worried", "en", set()),
        ("my sister has been drinking a lot lately", "en", set()),
        ("can you help me find a meeting nearby?", "en", set()),
        ("thanks for the help", "en", set()),
        ("my brother is a cop, he carries a gun", "en", set()),
        ("I bought a bottle of water", "en", set()),
        ("mi hermano recayó y estoy preocupada", "es", set()),
        ("se me antoja un taco", "es", set()),
    ],
    "Spanish": [
        ("quiero morirme", "es", {"self_harm"}),
        ("todos estarían mejor sin mí", "es", {"self_harm"}),
        ("mi primo no respira y tiene los labios morados", "es", {"overdose"}),
        ("tomé anoche", "es", {"relapse"}),
        ("tengo muchas ganas de consumir", "es", {"craving"}),
        ("necesito hablar con alguien", "es", {"help_request"}),
    ],
}


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        pytest.param(text, lang, expected, id=f"{group}: {text}")
        for group, rows in RISK_CASES.items()
        for text, lang, expected in rows
    ],
)
def test_risk_kinds(text: str, lang: str | None, expected: set[str]) -> None:
    assert kinds(text, lang) - {"sustain_talk"} == expected
    assert kinds(text, None) - {"sustain_talk"} == expected  # the same without the language


# Having swallowed a whole or large amount is an overdose in progress (911 and naloxone), whether
# or not it is also self-harm; a plan to ("gonna take all my pills tonight") is self-harm only.
INGESTED = [
    ("i took all my pills 💊💊💊", "en", {"self_harm", "overdose"}),
    ("took the whole bottle", "en", {"self_harm", "overdose"}),
    ("took 30 of my seroquel", "en", {"self_harm", "overdose"}),
    ("i took all my pills", "en", {"self_harm", "overdose"}),
    ("swallowed all of my sleeping pills", "en", {"self_harm", "overdose"}),
    ("i took every pill i had", "en", {"overdose"}),
    ("took every single one of my klonopin", "en", {"overdose"}),
    ("just swallowed a handful of my trazodone", "en", {"overdose"}),
    ("took twenty tylenol", "en", {"overdose"}),
    ("took 40 tabs", "en", {"overdose"}),
    ("took 12 bars", "en", {"overdose"}),
    ("downed the entire prescription", "en", {"overdose"}),
    ("took half a bottle of tylenol", "en", {"overdose"}),
    ("me tomé 30 pastillas de la presión", "es", {"self_harm", "overdose"}),
    ("me tomé todas mis pastillas", "es", {"self_harm", "overdose"}),
    ("me tomé el frasco entero", "es", {"overdose"}),
    ("me tragué todo el frasco de clonazepam", "es", {"overdose"}),
    ("me tomé un puño de pastillas", "es", {"overdose"}),
    ("me tragué veinte pastillas para dormir", "es", {"overdose"}),
    ("me tomé cada pastilla que tenía", "es", {"overdose"}),
]
PLANNED = [  # not swallowed yet: self-harm, not (yet) an overdose
    ("gonna take all my pills tonight", "en"),
    ("im going to take the whole bottle tonight", "en"),
    ("i want to swallow all of my sleeping pills", "en"),
    ("me voy a tomar todas mis pastillas esta noche", "es"),
    ("estoy pensando en tomarme todo el frasco", "es"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), INGESTED)
def test_a_large_amount_swallowed_is_an_overdose(text: str, lang: str, expected: set[str]) -> None:
    for language in (lang, None):
        found = default_classifier().classify(text, language).signals
        assert expected <= {finding.kind for finding in found}, (language, found)
        assert found[0].kind == "overdose", (language, found)  # the more actionable answer first


@pytest.mark.parametrize(("text", "lang"), PLANNED)
def test_a_plan_to_swallow_is_self_harm_not_yet_an_overdose(text: str, lang: str) -> None:
    for language in (lang, None):
        found = kinds(text, language)
        assert "self_harm" in found and "overdose" not in found, (language, found)


# Means at hand and preparation, first person and present: self-harm (critical). The same words
# in an ordinary task flag nothing.
MEANS_AT_HAND = [
    ("i have the pills in my hand", "en"),
    ("the pills are in front of me", "en"),
    ("got all my seroquel lined up on the table", "en"),
    ("i counted out all my pills", "en"),
    ("pills counted out, 60 of them", "en"),
    ("the rope is ready", "en"),
    ("i have the knife in my hand", "en"),
    ("holding my dads gun, its loaded", "en"),
    ("blade in my hand right now", "en"),
    ("i wrote my note", "en"),
    ("wrote letters to everyone", "en"),
    ("gave my dog away", "en"),
    ("gave away my cat yesterday", "en"),
    ("im on the bridge", "en"),
    ("i'm on the roof", "en"),
    ("im standing on the ledge", "en"),
    ("car running in the garage", "en"),
    ("loaded the gun", "en"),
    ("tengo las pastillas en la mano", "es"),
    ("ya tengo la cuerda lista", "es"),
    ("las pastillas ya están contadas", "es"),
    ("tengo el cuchillo enfrente de mí", "es"),
    ("escribí mi carta de despedida", "es"),
    ("estoy en el puente", "es"),
    ("estoy en la azotea", "es"),
    ("tengo la pistola cargada", "es"),
    ("ya cargué la pistola", "es"),
]
ORDINARY_MEANS = [
    ("i have my meds in my hand, taking them like the doctor said", "en"),
    ("rope for the tent is ready", "en"),
    ("knife in my hand, cooking dinner", "en"),
    ("on the roof fixing gutters", "en"),
    ("im on the roof fixing gutters", "en"),
    ("im on the bridge, traffic is terrible", "en"),
    ("wrote a note to my landlord", "en"),
    ("wrote a letter to my kids teacher", "en"),
    ("the car is running fine", "en"),
    ("my pills are ready at the pharmacy", "en"),
    ("i took all my meds like the doctor said", "en"),
    ("it took 20 minutes to get there", "en"),
    ("tengo mis pastillas en la mano, me las tomo como dijo el doctor", "es"),
    ("la cuerda para la tienda está lista", "es"),
    ("tengo el cuchillo en la mano, estoy cocinando", "es"),
    ("estoy en el techo arreglando la gotera", "es"),
    ("escribí una carta para mi casero", "es"),
    ("estoy en el puente de mayo con mi familia", "es"),
    ("el carro está funcionando bien", "es"),
]


@pytest.mark.parametrize(("text", "lang"), MEANS_AT_HAND)
def test_means_at_hand_and_preparation_are_self_harm(text: str, lang: str) -> None:
    for language in (lang, None):
        reading = default_classifier().classify(text, language)
        assert "self_harm" in {finding.kind for finding in reading.signals}, (language, reading)
        assert reading.critical


@pytest.mark.parametrize(("text", "lang"), ORDINARY_MEANS)
def test_means_in_an_ordinary_task_flag_nothing(text: str, lang: str) -> None:
    for language in (lang, None):
        assert not kinds(text, language) & RISK_KINDS, language


# Written after the lexicons, to see how they do on new words: the kind each should find (None:
# nothing). The first run of these found about half of the self-harm ones (docs/signals.md).
PARAPHRASES = [
    ("some days i think about just not being here", "en", "self_harm"),
    ("everybody would be happier if i was gone", "en", "self_harm"),
    ("me lastimé a propósito", "es", "self_harm"),
    ("i hate my life and want out", "en", "self_harm"),
    ("i keep thinking about jumping", "en", "self_harm"),
    ("le dejé una carta a mi mamá, adiós", "es", "self_harm"),
    ("i'd rather be dead than go back to using", "en", "self_harm"),
    ("i cant see any reason to keep going", "en", "self_harm"),
    ("i've got my dad's pills and a bottle of vodka and i'm done", "en", "self_harm"),
    ("quiero que todo se acabe", "es", "self_harm"),
    ("honestly thinking the world would be better without me in it", "en", "self_harm"),
    ("i gave my dog to my sister, won't need him anymore", "en", "self_harm"),
    ("ya no quiero seguir aquí", "es", "self_harm"),
    ("me dan ganas de matarme", "es", "self_harm"),
    ("i feel like killing myself", "en", "self_harm"),
    ("pretty sure tonight's my last night", "en", "self_harm"),
    ("cant stop thinking id be better off dead", "en", "self_harm"),
    ("voy a tomarme todo lo que tengo", "es", "self_harm"),
    ("i'm a burden and everyone knows it, they'd be relieved", "en", "self_harm"),
    ("im ready to go, tell my kids i love them", "en", "self_harm"),
    ("been researching how much insulin is lethal", "en", "self_harm"),
    ("siento que no vale la pena vivir", "es", "self_harm"),
    ("creo que me dio una sobredosis", "es", "overdose"),
    ("bro is foaming and not breathing", "en", "overdose"),
    ("mi novio no respira bien y tiene los labios azules", "es", "overdose"),
    ("he took a bunch of fentanyl and he's not breathing right", "en", "overdose"),
    ("mi amiga no despierta, creo que fue el fentanilo", "es", "overdose"),
    ("she used and now she's cold and pale", "en", "overdose"),
    ("snorted way too much and my heart is going crazy", "en", "overdose"),
    ("me tomé como 15 clonas y me siento rarísimo", "es", "overdose"),
    ("drank a six pack last night", "en", "relapse"),
    ("i've been using for the past week", "en", "relapse"),
    ("i got loaded last night", "en", "relapse"),
    ("used again this weekend, i'm sorry", "en", "relapse"),
    ("recaí el fin de semana", "es", "relapse"),
    ("i used meth again", "en", "relapse"),
    ("me eché unos tragos", "es", "relapse"),
    ("got wasted with the guys saturday", "en", "relapse"),
    ("thinking about calling my dealer", "en", "craving"),
    ("my ex wants me to party with her tonight and i'm thinking about it", "en", "craving"),
    ("i want a drink so badly", "en", "craving"),
    ("ando con ganas de consumir", "es", "craving"),
    ("estoy pensando en llamarle a mi dealer", "es", "craving"),
    ("tengo antojo de tomar", "es", "craving"),
    ("i keep thinking about drinking", "en", "craving"),
    ("por favor ayúdenme", "es", "help_request"),
    ("no estoy bien, necesito hablar con alguien", "es", "help_request"),
    ("necesito que alguien me llame", "es", "help_request"),
    ("can somebody call me", "en", "help_request"),
    ("me siento muy mal, alguien me puede hablar", "es", "help_request"),
    ("ocupo ayuda", "es", "help_request"),
    ("work is killing me this week", "en", None),
    ("my friend's brother relapsed", "en", None),
    ("i went out for a run", "en", None),
    ("my plant died lol", "en", None),
    ("my battery is dying", "en", None),
    ("mi papá tomaba mucho cuando yo era niño", "es", None),
    ("i'm so over this cold weather", "en", None),
    ("my grandpa's funeral is saturday", "en", None),
    ("me morí de la risa con la película", "es", None),
    ("i almost died when i saw my electric bill", "en", None),
    ("dead tired after work", "en", None),
    ("i haven't had a drink in 90 days", "en", None),
    ("fui al cine con mi novia", "es", None),
    ("my grandma passed away last week, sad", "en", None),
    ("i'm so bored lol", "en", None),
    ("no he tomado nada en tres meses", "es", None),
]


@pytest.mark.parametrize(("text", "lang", "kind"), PARAPHRASES)
def test_paraphrases(text: str, lang: str, kind: str | None) -> None:
    found = kinds(text, lang) & RISK_KINDS
    assert kind in found if kind else not found, found


# Two more small sets of new wording, each written after a round of broadening the lexicons and
# run once before the next (docs/signals.md): the risk kinds each must find (at least), or none.
NEW_WORDING: list[tuple[str, str, set[str]]] = [
    ("i keep wondering if anyone would come to my funeral", "en", {"self_harm"}),
    ("all i want is to not feel anything ever again", "en", {"self_harm"}),
    ("tired of waking up every day honestly", "en", {"self_harm"}),
    ("it would be so much easier to just not exist", "en", {"self_harm"}),
    ("ive been thinking of ways to make it stop for good", "en", {"self_harm"}),
    ("i wrote out my will last night", "en", {"self_harm"}),
    ("im giving my guitar to my nephew, he should have it now", "en", {"self_harm"}),
    ("looked up the tallest bridge around here", "en", {"self_harm"}),
    ("been stockpiling my trazodone", "en", {"self_harm"}),
    ("i keep holding the knife to my wrist", "en", {"self_harm"}),
    ("scratched my arms till they bled again", "en", {"self_harm"}),
    ("everybody would move on pretty fast if i was gone", "en", {"self_harm"}),
    ("wish i could fall asleep and stay that way", "en", {"self_harm"}),
    ("nobody needs me here anymore", "en", {"self_harm"}),
    ("i feel like checking out permanently", "en", {"self_harm"}),
    ("gonna end things this weekend", "en", {"self_harm"}),
    ("this world is better without me", "en", {"self_harm"}),
    ("thinking about taking all my lithium at once", "en", {"self_harm"}),
    ("i dont wanna wake up tomorrow", "en", {"self_harm"}),
    ("im a lost cause, no point trying anymore", "en", {"self_harm"}),
    ("quisiera no volver a despertar", "es", {"self_harm"}),
    ("ya no le encuentro sentido a la vida", "es", {"self_harm"}),
    ("estoy pensando en colgarme", "es", {"self_harm"}),
    ("me quiero tirar del edificio", "es", {"self_harm"}),
    ("a nadie le importaria si me muero", "es", {"self_harm"}),
    ("ya no quiero vivir asi, mejor desaparecer", "es", {"self_harm"}),
    ("me corto para sentir algo", "es", {"self_harm"}),
    ("estoy juntando las pastillas de dormir", "es", {"self_harm"}),
    ("ya estoy cansado de todo, quiero que se termine", "es", {"self_harm"}),
    ("hoy me despido, gracias por todo", "es", {"self_harm"}),
    ("took half a bottle of my klonopin with beer", "en", {"overdose", "relapse"}),
    ("my girlfriend is gurgling and wont wake up", "en", {"overdose"}),
    ("i think the pills were pressed with fent, cant feel my face", "en", {"overdose", "relapse"}),
    ("gave my buddy two doses of narcan and hes still out", "en", {"overdose"}),
    ("i shot up and my breathing feels really slow", "en", {"overdose", "relapse"}),
    ("took 15 percs", "en", {"overdose", "relapse"}),
    ("mi novio se puso morado despues de inyectarse", "es", {"overdose"}),
    ("me tome un monton de clonazepam con tequila", "es", {"overdose", "relapse"}),
    # relapse not found: "fumar" alone may be tobacco
    ("me desmaye despues de fumar y desperte en el piso", "es", {"overdose"}),
    ("no reacciona, le puse narcan y nada", "es", {"overdose"}),
    ("had a few drinks last night, feeling like crap", "en", {"relapse"}),
    ("smoked some meth this weekend", "en", {"relapse"}),
    ("back at it again, used friday", "en", {"relapse"}),
    ("i messed up, 3 beers at the game", "en", {"relapse"}),
    ("me puse hasta atras el sabado", "es", {"relapse"}),
    ("anoche me tome unas caguamas", "es", {"relapse"}),
    ("volvi a la coca", "es", {"relapse"}),
    ("my mind keeps going to the bar down the street", "en", {"craving"}),
    ("really wanna get lit tonight", "en", {"craving"}),
    ("my dealer keeps blowing up my phone", "en", {"craving"}),
    ("se me antojo una chela bien fria", "es", {"craving"}),
    ("estoy muy tentado de ir al bar", "es", {"craving"}),
    ("please someone text me back, its bad", "en", {"help_request"}),
    ("i need my counselor asap", "en", {"help_request"}),
    ("me siento muy mal, me pueden llamar", "es", {"help_request"}),
    ("necesito hablar con alguien ya", "es", {"help_request"}),
    ("ugh this homework is killing me", "en", set()),
    ("lol i almost died when i saw the price", "en", set()),
    ("my laptop died again", "en", set()),
    ("used to think about ending it but therapy really helped", "en", set()),
    ("my cousin overdosed two years ago, miss him", "en", set()),
    ("took my suboxone this morning like always", "en", set()),
    ("haven't had a drink in 4 months", "en", set()),
    ("watched a movie about a guy who jumps off a bridge, heavy", "en", set()),
    ("my son is killing it in soccer", "en", set()),
    ("i'd die for a nap", "en", set()),
    ("gave my old bike to my neighbor's kid", "en", set()),
    ("doc said 50mg is fine for my back pain", "en", set()),
    ("went to the bridge to fish with my dad", "en", set()),
    ("i got high marks on my review at work", "en", set()),
    ("ando muerto de sueño", "es", set()),
    ("mi amiga recayo pero ya esta bien", "es", set()),
    ("me tome un te y me fui a dormir", "es", set()),
    ("llevo un año limpio gracias a dios", "es", set()),
    ("me mato de risa ese video", "es", set()),
    ("el partido estuvo de muerte", "es", set()),
    ("no pienso en matarme, solo estoy estresada", "es", set()),
    ("le regale mi bici vieja a mi sobrino", "es", set()),
    ("sometimes i just want to stop breathing", "en", {"self_harm"}),
    ("idk how much longer i can keep pretending im fine. i think im done", "en", {"self_harm"}),
    ("been planning how im gonna do it", "en", {"self_harm"}),
    ("my kids deserve a better dad than me, theyd be fine without me", "en", {"self_harm"}),
    ("i have a bottle of oxy and nothing left to lose", "en", {"self_harm"}),
    ("cant stop picturing myself jumping in front of the train", "en", {"self_harm"}),
    ("if i don't wake up tomorrow that's fine by me", "en", {"self_harm"}),
    ("i hate being alive", "en", {"self_harm"}),
    ("ive been burning my arm with cigarettes again", "en", {"self_harm"}),
    ("im going to do it tonight, sorry", "en", {"self_harm"}),
    ("i keep thinking everyone would be relieved if i was gone", "en", {"self_harm"}),
    ("loaded the gun and sat with it for an hour", "en", {"self_harm"}),
    ("just want to sleep for ever and ever", "en", {"self_harm"}),
    ("whats even the point of me", "en", {"self_harm"}),
    ("gonna swallow everything in the medicine cabinet", "en", {"self_harm"}),
    ("honestly death sounds peaceful rn", "en", {"self_harm"}),
    ("ya no tengo ganas de vivir", "es", {"self_harm"}),
    ("quiero dormir y no volver a abrir los ojos", "es", {"self_harm"}),
    ("tengo la soga lista en el closet", "es", {"self_harm"}),
    ("me voy a aventar del puente esta noche", "es", {"self_harm"}),
    ("estoy pensando en acabar con mi vida", "es", {"self_harm"}),
    ("ya no aguanto, mejor me mato", "es", {"self_harm"}),
    ("para que vivir asi", "es", {"self_harm"}),
    ("me hice cortadas en las piernas", "es", {"self_harm"}),
    ("le escribi una carta a mi hija por si no estoy", "es", {"self_harm"}),
    ("solo soy un estorbo para mi familia", "es", {"self_harm"}),
    ("my roommate took a bunch of xanax and hes barely breathing", "en", {"overdose"}),
    (
        "i think i overdid it, room spinning and my lips feel numb, chest tight",
        "en",
        {"overdose", "relapse"},
    ),
    ("we had to call 911, my sister wont wake up after using", "en", {"overdose"}),
    ("did a whole gram and i think my heart is gonna explode", "en", {"overdose", "relapse"}),
    ("me meti mucha fenta y no puedo respirar bien", "es", {"overdose", "relapse"}),
    ("mi primo esta tirado y tiene los labios azules", "es", {"overdose"}),
    ("me tome 30 pastillas", "es", {"self_harm", "overdose"}),
    ("drank a whole bottle of wine last night alone", "en", {"relapse"}),
    ("i caved and hit my pen", "en", {"relapse"}),
    ("went on a bender over the weekend", "en", {"relapse"}),
    ("used dope yesterday, back on day 1", "en", {"relapse"}),
    ("ayer me empine una botella de ron", "es", {"relapse"}),
    ("anoche consumi con unos amigos", "es", {"relapse"}),
    ("my buddy offered me a line and im really tempted", "en", {"craving"}),
    ("cant stop thinking about getting drunk", "en", {"craving"}),
    ("im parked outside the bar rn", "en", {"craving"}),
    ("me urge un trago", "es", {"craving"}),
    ("traigo unas ansias de meterme algo", "es", {"craving"}),
    ("can somebody pls call me asap", "en", {"help_request"}),
    ("not ok at all, need to talk", "en", {"help_request"}),
    ("ayudame por favor", "es", {"help_request"}),
    ("necesito que me hablen", "es", {"help_request"}),
    ("dying to see you guys at the picnic", "en", set()),
    ("i killed that presentation", "en", set()),
    ("this rain is the worst, i'm so over it", "en", set()),
    ("no thoughts of hurting myself today", "en", set()),
    ("my friend relapsed last year but shes doing well", "en", set()),
    ("took my ibuprofen for my back", "en", set()),
    ("i used to cut but i havent in 2 years", "en", set()),
    ("shot a video for my church", "en", set()),
    ("i'll be gone for a week on a work trip", "en", set()),
    ("doc increased my methadone to 90mg", "en", set()),
    ("life is good, 6 months sober", "en", set()),
    ("me morí de la risa con mi hijo", "es", set()),
    ("ya no tomo, llevo 8 meses", "es", set()),
    ("mi tio murio de sobredosis hace años", "es", set()),
    ("estoy cansado del trabajo pero bien", "es", set()),
    ("me tome un cafe con mi mama", "es", set()),
]


@pytest.mark.parametrize(("text", "lang", "expected"), NEW_WORDING)
def test_new_wording(text: str, lang: str, expected: set[str]) -> None:
    found = kinds(text, lang) & RISK_KINDS
    assert expected <= found if expected else not found, found


# Negation that negates nothing: an idiom ("not gonna lie"), a double negation ("can't promise
# I won't"), a plea ("don't let me") or a comparative ("never wanted to die more than today")
# must not cancel a crisis phrase; a plain negation still does.
NOT_NEGATING = [
    # idioms
    ("not gonna lie i want to die", "en"),
    ("ngl i want to kill myself", "en"),
    ("no lie i want to end it", "en"),
    ("im not gonna lie i want to end my life", "en"),
    ("not gonna lie to you i want to die", "en"),
    ("not going to lie i've been thinking about killing myself", "en"),
    ("i wont lie i want to die", "en"),
    ("no joke i want to kill myself", "en"),
    ("not even kidding i want to die", "en"),
    ("i kid you not i want to die", "en"),
    ("no cap i wanna die", "en"),
    ("i'm not ok, i want to die", "en"),
    ("no te voy a mentir, me quiero morir", "es"),
    ("no te voy a mentir me quiero matar", "es"),
    ("no miento, quiero morirme", "es"),
    ("no es broma me quiero matar", "es"),
    ("sin mentirte quiero morirme", "es"),
    # double negation
    ("I cant promise I wont hurt myself", "en"),
    ("i can't promise i won't kill myself tonight", "en"),
    ("i won't promise you that i won't kill myself", "en"),
    ("cant say i wont hurt myself", "en"),
    ("not sure i won't hurt myself tonight", "en"),
    ("not gonna pretend i dont want to die", "en"),
    ("no puedo prometer que no me voy a hacer daño", "es"),
    ("no te puedo prometer que no me voy a matar", "es"),
    ("no estoy segura de que no me vaya a hacer daño", "es"),
    # pleas
    ("dont let me kill myself", "en"),
    ("please don't let me hurt myself tonight", "en"),
    ("dont let me take all these pills", "en"),
    ("no me dejes matarme", "es"),
    ("por favor no dejes que me mate", "es"),
    ("no dejen que me quite la vida", "es"),
    # comparatives
    ("never wanted to die more than today", "en"),
    ("never wanted to die more", "en"),
    ("i've never wanted to kill myself as much as i do now", "en"),
    ("never wanted to die this badly", "en"),
    ("i have never felt closer to ending it all", "en"),
    ("nunca he tenido tantas ganas de morirme", "es"),
    ("jamás había tenido tantas ganas de matarme", "es"),
    ("nunca había querido morirme como hoy", "es"),
    ("nunca me había sentido tan cerca de suicidarme", "es"),
]
NEGATING = [
    ("I'm not going to kill myself", "en"),
    ("no thoughts of hurting myself", "en"),
    ("I used to want to die but not anymore", "en"),
    ("i would never hurt myself", "en"),
    ("i would never kill myself so dont worry", "en"),
    ("i will never hurt myself again", "en"),
    ("I never thought about killing myself", "en"),
    ("I have never wanted to die", "en"),
    ("never wanted to die, not once", "en"),
    ("not gonna lie i dont want to die", "en"),  # the idiom, then a negation that counts
    ("ngl i would never hurt myself", "en"),
    ("no lie, i'm not going to kill myself", "en"),
    ("i promise i wont hurt myself", "en"),
    ("i can promise you i won't kill myself", "en"),
    ("don't let me down, I'm not going to hurt myself", "en"),
    ("hope i dont die on this hike", "en"),  # a negation inside a wish is no wish to die
    ("going to try not to die lol", "en"),
    ("ya no pienso en matarme", "es"),
    ("no tengo ganas de morirme", "es"),
    ("no te voy a mentir, no tengo ganas de morirme", "es"),
    ("no es broma, no me voy a matar", "es"),
    ("te prometo que no me voy a hacer daño", "es"),
    ("nunca me haría daño", "es"),
    ("nunca pensé en matarme", "es"),
    ("nunca había querido morirme", "es"),
    ("jamás me quitaría la vida", "es"),
    ("no me dejes sola, no me quiero morir", "es"),
]


@pytest.mark.parametrize(("text", "lang"), NOT_NEGATING)
def test_negation_that_negates_nothing_does_not_cancel_a_crisis(text: str, lang: str) -> None:
    for language in (lang, None):
        reading = default_classifier().classify(text, language)
        assert "self_harm" in {finding.kind for finding in reading.signals}, language
        assert reading.critical


@pytest.mark.parametrize(("text", "lang"), NEGATING)
def test_negation_still_cancels_a_crisis(text: str, lang: str) -> None:
    assert not kinds(text, lang) & SAFETY_KINDS
    assert not kinds(text, None) & SAFETY_KINDS


def test_negation_exceptions_reach_other_kinds() -> None:
    assert kinds("not gonna lie i relapsed", "en") == {"relapse"}
    assert kinds("never wanted a drink more than today", "en") == {"craving"}
    assert kinds("no te voy a mentir, recaí", "es") == {"relapse"}
    assert kinds("not gonna lie, i'm not going to drink", "en") == set()


STOPPING = [  # talk of stopping medication or leaving the program: sustain_talk, low
    ("I want to stop taking my suboxone", "en", "stop taking my suboxone"),
    ("thinking about quitting naltrexone", "en", "quitting naltrexone"),
    ("skipped my vivitrol shot this month", "en", "skipped my vivitrol"),
    ("gonna stop going to IOP", "en", "gonna stop going to IOP"),
    ("I'm done with meetings", "en", "done with meetings"),
    ("please take me off this list", "en", "take me off this list"),
    ("quiero dejar el suboxone", "es", "dejar el suboxone"),
    ("ya no voy a ir a las juntas", "es", "ya no voy a ir a las juntas"),
    ("voy a dejar la terapia, no sirve", "es", "voy a dejar la terapia"),
]


@pytest.mark.parametrize(("text", "lang", "evidence"), STOPPING)
def test_stopping_medication_or_the_program_is_sustain_talk(
    text: str, lang: str, evidence: str
) -> None:
    reading = default_classifier().classify(text, lang)
    assert Finding("sustain_talk", "low", evidence) in reading.signals
    assert reading.talk == "sustain"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I'm not going to stop my suboxone", "en"),
        ("doc wants to taper my methadone but I'm not ready, it keeps me stable", "en"),
        ("el doctor me quiere bajar la buprenorfina pero no quiero, me ayuda mucho", "es"),
    ],
)
def test_staying_on_medication_is_not_sustain_talk(text: str, lang: str) -> None:
    reading = default_classifier().classify(text, lang)
    assert "sustain_talk" not in {finding.kind for finding in reading.signals}
    assert reading.talk == "change"


TALK = [
    ("i really want to stay sober this time", "en", "change"),
    ("I'm going to call my sponsor every morning", "en", "change"),
    ("I can do this, I did it before", "en", "change"),
    ("I need to cut down for my kids", "en", "change"),
    ("threw out all the bottles in the house", "en", "change"),
    ("30 days today!", "en", "change"),
    ("I don't want to drink anymore", "en", "change"),
    ("I'm not going to drink tonight, no matter what", "en", "change"),
    ("no cravings today at all", "en", "change"),
    ("one drink won't hurt", "en", "sustain"),
    ("I don't really have a problem", "en", "sustain"),
    ("honestly I miss it", "en", "sustain"),
    ("this program isn't helping me", "en", "sustain"),
    ("drinking helps me relax", "en", "sustain"),
    ("I don't want to quit", "en", "sustain"),
    ("I want to quit, but it's just too hard", "en", "sustain"),
    ("It's hard, but I want to quit", "en", "change"),
    ("it's not a problem", "en", "sustain"),
    ("mm-hmm", "en", "neutral"),
    ("yeah, okay", "en", "neutral"),
    ("went to the dentist today", "en", "neutral"),
    ("I drank last night", "en", "neutral"),
    ("I want to die", "en", "neutral"),  # crisis words are not a wish to change
    ("quiero seguir limpio por mis hijos", "es", "change"),
    ("no voy a tomar hoy", "es", "change"),
    ("una copa no me va a hacer daño", "es", "sustain"),
    ("extraño tomar", "es", "sustain"),
    ("sí", "es", "neutral"),
]


@pytest.mark.parametrize(("text", "lang", "talk"), TALK)
def test_talk_type(text: str, lang: str, talk: str) -> None:
    reading = default_classifier().classify(text, lang)
    assert reading.talk == talk
    assert (reading.talk_evidence == "") == (talk == "neutral")


def test_talk_evidence_is_the_cue_words() -> None:
    reading = default_classifier().classify("Honestly, one drink won't hurt.", "en")
    assert reading.talk == "sustain"
    assert "one drink won't hurt" in reading.talk_evidence


@pytest.mark.parametrize(
    ("text", "lang", "evidence"),
    [
        ("Recaí anoche, perdón", "es", "Recaí"),
        (
            "I DON\u2019T want to be alive",
            "en",
            "DON\u2019T want to be alive",
        ),  # a curly apostrophe
        ("ok so… I want to DIE", "en", "want to DIE"),
        ("Me tomé 30 pastillas de la presión", "es", "Me tomé 30 pastillas"),  # self-harm's
        (
            "\uff34\uff2f\uff2f\uff2b the whole bottle",
            "en",
            "\uff34\uff2f\uff2f\uff2b the whole bottle",
        ),
    ],
)
def test_evidence_is_cut_from_the_text_as_written(text: str, lang: str, evidence: str) -> None:
    reading = default_classifier().classify(text, lang)
    assert evidence in [finding.evidence for finding in reading.signals]


def test_findings_most_severe_first_one_per_kind() -> None:
    text = "took a bunch of pills with whiskey, i dont care if i wake up. please call me"
    reading = default_classifier().classify(text, "en")
    found = [finding.kind for finding in reading.signals]
    assert found == ["overdose", "self_harm", "relapse", "help_request"]
    assert all(finding.severity == SEVERITY[finding.kind] for finding in reading.signals)
    assert reading.critical
    twice = default_classifier().classify("i drank friday and i drank saturday", "en")
    assert [finding.kind for finding in twice.signals] == ["relapse"]
    assert twice.signals[0].evidence == "drank friday"  # the first


def test_severities() -> None:
    assert SEVERITY == {
        "overdose": "critical",
        "self_harm": "critical",
        "relapse": "high",
        "help_request": "high",
        "craving": "medium",
        "sustain_talk": "low",
    }
    assert set(KINDS) - RISK_KINDS == {"sustain_talk"}
    assert not default_classifier().classify("I drank last night", "en").critical


def test_as_json() -> None:
    reading = default_classifier().classify("recaí", "es")
    assert reading.as_json("recaí") == {
        "text": "recaí",
        "signals": [{"kind": "relapse", "severity": "high", "evidence": "recaí"}],
        "talk": "neutral",
    }
    assert Reading((), "neutral", "").as_json("hi") == {
        "text": "hi",
        "signals": [],
        "talk": "neutral",
    }


@given(st.text(max_size=300))
def test_any_text_reads_and_evidence_is_part_of_it(text: str) -> None:
    reading = default_classifier().classify(text)
    assert reading.talk in {"change", "sustain", "neutral"}
    for finding in reading.signals:
        assert finding.evidence
        assert finding.evidence in text
        assert finding.severity == SEVERITY[finding.kind]
    assert len({finding.kind for finding in reading.signals}) == len(reading.signals)


# The labelled sets (tests/data/README.md): the development set, read while the lexicons were
# written, and the red-team set, new wording written without reading them. Both hold the same
# targets: every self-harm and overdose message found, relapse at least 0.95, at most 5% false
# alarms on the messages without risk.

LABELLED_SETS = [pytest.param(DEV_SET, id="dev"), pytest.param(RED_TEAM_SET, id="redteam")]
CASES = {
    "self_harm", "overdose", "relapse", "craving", "help_request", "negation", "past",
    "figurative", "slang", "method", "short", "neutral", "change", "sustain", "medication",
    "quit_program", "mixed",
}  # fmt: skip


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _figures(path: Path) -> tuple[dict[str, tuple[float, float]], float, str]:
    """Each risk kind's (precision, recall), the false-alarm rate, and a table to read."""
    counts: Counter[tuple[str, str]] = Counter()
    false_alarms: list[str] = []
    misses: list[str] = []
    clean = 0
    for row in _rows(path):
        text, lang, wanted = row["text"], row["lang"], set(row["kinds"])
        found = kinds(text, lang) & RISK_KINDS
        for kind in RISK_KINDS:
            if kind in found and kind in wanted:
                counts[(kind, "tp")] += 1
            elif kind in found:
                counts[(kind, "fp")] += 1
            elif kind in wanted:
                counts[(kind, "fn")] += 1
                misses.append(f"  missed {kind}: {text!r}")
        if not wanted:
            clean += 1
            if found:
                false_alarms.append(f"  false alarm {sorted(found)}: {text!r}")
    figures: dict[str, tuple[float, float]] = {}
    table = ["kind          precision recall"]
    for kind in sorted(RISK_KINDS):
        tp, fp, fn = (counts[(kind, part)] for part in ("tp", "fp", "fn"))
        figures[kind] = (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)
        table.append(f"{kind:13} {figures[kind][0]:9.3f} {figures[kind][1]:6.3f}")
    rate = len(false_alarms) / clean
    table.append(f"false alarms {len(false_alarms)}/{clean} = {rate:.3f}")
    return figures, rate, "\n".join(table + misses + false_alarms)


@pytest.mark.parametrize("path", LABELLED_SETS)
def test_recall_and_false_alarms(path: Path) -> None:
    figures, false_alarm_rate, table = _figures(path)
    assert figures["self_harm"][1] == 1.0, table
    assert figures["overdose"][1] == 1.0, table
    assert figures["relapse"][1] >= 0.95, table
    assert false_alarm_rate <= 0.05, table


@pytest.mark.parametrize("path", LABELLED_SETS)
def test_covers_every_risk_kind_in_both_languages(path: Path) -> None:
    rows = _rows(path)
    for lang in ("en", "es"):
        labelled = {kind for row in rows if row["lang"] == lang for kind in row["kinds"]}
        assert labelled == RISK_KINDS, lang


@pytest.mark.parametrize("path", LABELLED_SETS)
def test_labelled_set_is_well_formed(path: Path) -> None:
    rows = _rows(path)
    for row in rows:
        assert set(row) == {"text", "lang", "kinds", "talk", "case"}, row
        assert row["lang"] in {"en", "es"}, row
        assert set(row["kinds"]) <= RISK_KINDS, row
        assert len(set(row["kinds"])) == len(row["kinds"]), row
        assert row["talk"] in {"change", "sustain", "neutral"}, row
        assert row["case"] in CASES, row
    texts = [row["text"] for row in rows]
    assert len(texts) == len(set(texts)), Counter(texts).most_common(3)


def test_red_team_set_copies_no_development_message() -> None:
    def folded(path: Path) -> set[str]:
        return {" ".join(re.findall(r"\w+", _fold(row["text"])[0])) for row in _rows(path)}

    assert not folded(RED_TEAM_SET) & folded(DEV_SET)


@pytest.mark.parametrize("path", LABELLED_SETS)
def test_labelled_set_talk_type(path: Path) -> None:
    """A regression guard: the sets were read while writing the talk cues, so the figure is high
    and says little about new text (docs/signals.md has AnnoMI's, which is honest)."""
    rows = _rows(path)
    pairs = [
        (row["talk"], default_classifier().classify(row["text"], row["lang"]).talk) for row in rows
    ]
    right = sum(gold == guess for gold, guess in pairs)
    wrong = [f"{gold} read as {guess}" for gold, guess in pairs if gold != guess]
    assert right / len(pairs) >= 0.85, Counter(wrong)


# Speed: each kind's phrases are grouped by the character they can begin with (classifier.py),
# which must find exactly what the plain alternation finds.


@pytest.mark.parametrize(
    ("phrase", "chars"),
    [
        ("relapsed", frozenset("r")),
        ("(?:took|swallowed) (?:\\w+ )?pills", frozenset("ts")),
        ("(?:i )?picked up", frozenset("ip")),
        ("[0-9]+ ?mgs?", frozenset("0123456789")),
        ("(?<!me )(?:cai|caigo)", frozenset("c")),
        ("💊(?: ?💊){2,}", frozenset("💊")),
        ("(?:\\w+ )?used with", None),  # could begin with any word
        ("^\\W*help\\W*$", None),
        ("\\d+ days", None),  # \\d is also a digit of other scripts
        ("(?P<x>a)", None),  # syntax it does not follow: any
    ],
)
def test_first_chars(phrase: str, chars: frozenset[str] | None) -> None:
    assert _first_chars(phrase) == chars


def _shipped_patterns() -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
    """Each shipped phrase list (both languages) as a plain alternation and as compiled."""
    combined: dict[str, dict[str, list[str] | int]] = {}
    for path in sorted(LEXICONS.glob("*.toml")):
        _merge(combined, _read(path)[1])
    make = _Compiler(combined)
    names = [(kind, key) for kind in KINDS for key in ("patterns", "exceptions")]
    names += [("talk", "change"), ("talk", "sustain"), ("negation", "cues")]
    patterns = []
    for name, key in names:
        phrases = make.phrases(name, key)
        grouped = make.words_of(name, key)
        if grouped is not None:
            plain = "|".join(f"(?:{phrase})" for phrase in phrases)
            patterns.append((f"{name}.{key}", re.compile(rf"(?<!\w)(?:{plain})(?!\w)"), grouped))
    return patterns


SHIPPED_PATTERNS = _shipped_patterns()
SAMPLE_WORDS = sorted(
    {
        word
        for path in (DEV_SET, RED_TEAM_SET)
        for row in _rows(path)
        for word in row["text"].split()
    }
)


@given(
    st.lists(st.sampled_from(SAMPLE_WORDS), min_size=1, max_size=14).map(" ".join)
    | st.text(alphabet="abcdeilmnoprstuy 0123456789.,!?'ñé💊", max_size=60)
)
def test_grouping_by_first_char_finds_what_the_plain_alternation_finds(text: str) -> None:
    folded = _fold(text)[0]
    for name, plain, grouped in SHIPPED_PATTERNS:
        expected = [match.span() for match in plain.finditer(folded)]
        assert [match.span() for match in grouped.finditer(folded)] == expected, name


REPEATED = st.tuples(
    st.sampled_from(["💊", "💊 ", "😭", "!", "?!", ". ", " ", "💊😭!"]), st.integers(1, 40)
)


@settings(deadline=None)  # the first example may load the lexicons (seconds)
@given(
    st.lists(
        st.sampled_from(SAMPLE_WORDS)
        | REPEATED.map(lambda unit_and_times: str.__mul__(*unit_and_times)),
        min_size=1,
        max_size=12,
    ).map(" ".join)
)
def test_long_repetitions_read_as_a_few_find_the_same(text: str) -> None:
    """Emoji and punctuation repeated more than a few times are read as a few (for speed): the
    findings, their evidence and the talk type are those of the text read in full."""
    classifier = default_classifier()
    shortened = classifier.classify(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classifier_module, "_shorten_runs", lambda folded, origin: (folded, origin))
        in_full = classifier.classify(text)
    assert shortened == in_full


# Lexicon files an admin adds.


def _write(directory: Path, name: str, content: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(content, encoding="utf-8")
    return path


def test_an_extra_directory_adds_phrases_and_words(tmp_path: Path) -> None:
    # local slang the shipped lexicon does not know ("skiing": cocaine)
    assert "relapse" not in kinds("went skiing this weekend", "en")
    assert "relapse" not in kinds("did some tusi at the club", "en")
    _write(
        tmp_path,
        "local.toml",
        """
lang = "en"
[words]
drug = ['tusi']
[relapse]
patterns = ['went (?:\\w+ )?skiing']
""",
    )
    extended = Classifier.load(tmp_path)
    skiing = extended.classify("Went SKIING this weekend", "en")
    assert Finding("relapse", "high", "Went SKIING") in skiing.signals
    assert "relapse" in {
        f.kind for f in extended.classify("did some tusi at the club", "en").signals
    }
    # the shipped phrases are still there, and the default classifier is unchanged
    assert "self_harm" in {f.kind for f in extended.classify("I want to die", "en").signals}
    assert "relapse" not in kinds("went skiing this weekend", "en")


def test_an_extra_file_can_add_a_negation_exception(tmp_path: Path) -> None:
    assert "relapse" not in kinds("not even gonna front i drank last night", "en")
    _write(
        tmp_path, "local.toml", "lang = 'en'\n[negation]\nexceptions = ['not even gonna front']\n"
    )
    extended = Classifier.load(tmp_path)
    found = {f.kind for f in extended.classify("not even gonna front i drank last night").signals}
    assert found == {"relapse"}


def test_an_extra_file_can_cancel_a_phrase_with_an_exception(tmp_path: Path) -> None:
    assert "relapse" in kinds("I drank at the rehearsal dinner", "en")
    _write(
        tmp_path,
        "local.toml",
        "lang = 'en'\n[relapse]\nexceptions = ['drank at the rehearsal']\n",
    )
    assert not Classifier.load(tmp_path).classify("I drank at the rehearsal dinner", "en").signals


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("lang = 'en'\n[relapse]\npatterns = ['(unclosed']\n", "relapse.patterns[0]"),
        ("lang = 'en'\n[relapse]\npatterns = ['ok', 'went (out)']\n", "relapse.patterns[1]"),
        ("lang = 'en'\n[relapse]\npatterns = ['x?']\n", "relapse.patterns[0]"),
        ("lang = 'en'\n[relapse]\npatterns = 'drank'\n", "relapse.patterns"),
        ("lang = 'en'\n[relapse]\nphrases = ['drank']\n", "relapse.phrases"),
        ("lang = 'en'\n[gambling]\npatterns = ['bet']\n", "gambling"),
        ("lang = 'en'\n[negation]\nwindow = 'four'\n", "negation.window"),
        ("lang = 'en'\n[relapse]\npatterns = ['took {nonsense}']\n", "relapse.patterns[0]"),
        ("[relapse]\npatterns = ['drank']\n", "lang"),
        ("lang = 'en'\n[relapse\npatterns = ['drank']\n", "not a readable TOML file"),
    ],
)
def test_a_broken_file_names_the_file_and_key(tmp_path: Path, content: str, where: str) -> None:
    path = _write(tmp_path, "broken.toml", content)
    with pytest.raises(ValueError, match=r"broken\.toml") as raised:
        Classifier.load(tmp_path)
    assert where in str(raised.value)
    assert str(path) in str(raised.value)


def test_extra_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        Classifier.load(tmp_path / "missing")


def test_shipped_lexicons_document_their_format() -> None:
    lexicons = ROOT / "service" / "signals" / "lexicons"
    head = (lexicons / "en.toml").read_text(encoding="utf-8").split('\nlang = "en"', 1)[0]
    for part in ("[words]", "patterns", "exceptions", "unless_before", "[negation]", "[past]"):
        assert part in head
    assert default_classifier().languages == ("en", "es")


# The command line.


def _aftercare(*args: str, stdin: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "service", "classify", *args],
        input=stdin.encode("utf-8"),
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},  # the output is UTF-8 regardless
        timeout=60,
        check=False,
    )


def _lines(output: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.decode("utf-8").splitlines()]


def test_cli_plain_lines() -> None:
    done = _aftercare(stdin="I want to die\n\n   \nrecaí anoche\nthis heat is killing me\n")
    assert done.returncode == 0, done.stderr
    out = _lines(done.stdout)
    assert [row["text"] for row in out] == [
        "I want to die",
        "recaí anoche",
        "this heat is killing me",
    ]
    assert out[0]["signals"] == [
        {"kind": "self_harm", "severity": "critical", "evidence": "I want to die"}
    ]
    assert out[1]["signals"] == [{"kind": "relapse", "severity": "high", "evidence": "recaí"}]
    assert out[2] == {"text": "this heat is killing me", "signals": [], "talk": "neutral"}
    assert "recaí" in done.stdout.decode("utf-8")  # not escaped


def test_cli_lang_option() -> None:
    done = _aftercare("--lang", "es", stdin="quiero dejar el suboxone\n")
    assert done.returncode == 0, done.stderr
    (row,) = _lines(done.stdout)
    assert row["talk"] == "sustain"
    assert row["signals"] == [
        {"kind": "sustain_talk", "severity": "low", "evidence": "dejar el suboxone"}
    ]


def test_cli_json_lines_with_a_bad_line() -> None:
    stdin = "\n".join(
        [
            json.dumps({"text": "took 20 xanax", "lang": "en"}),
            "{not json",
            json.dumps({"lang": "en"}),
            "",
            json.dumps({"text": "ayuda"}, ensure_ascii=False),
        ]
    )
    done = _aftercare("--jsonl", stdin=stdin)
    assert done.returncode == 1
    out = _lines(done.stdout)
    assert [row["text"] for row in out] == ["took 20 xanax", "ayuda"]
    assert [s["kind"] for s in out[0]["signals"]] == ["overdose", "relapse"]
    assert out[1]["signals"] == [{"kind": "help_request", "severity": "high", "evidence": "ayuda"}]
    errors = done.stderr.decode("utf-8")
    assert "line 2" in errors and "not valid JSON" in errors
    assert "line 3" in errors and '"text"' in errors


def test_cli_extra_lexicons(tmp_path: Path) -> None:
    _write(tmp_path, "local.toml", "lang = 'en'\n[relapse]\npatterns = ['went on a bender']\n")
    done = _aftercare("--lexicons", str(tmp_path), stdin="went on a bender\n")
    assert done.returncode == 0, done.stderr
    assert _lines(done.stdout)[0]["signals"] == [
        {"kind": "relapse", "severity": "high", "evidence": "went on a bender"}
    ]
    _write(tmp_path, "local.toml", "lang = 'en'\n[relapse]\npatterns = ['(']\n")
    broken = _aftercare("--lexicons", str(tmp_path), stdin="hi\n")
    assert broken.returncode == 1
    assert (
        "local.toml" in broken.stderr.decode() and "relapse.patterns[0]" in broken.stderr.decode()
    )
