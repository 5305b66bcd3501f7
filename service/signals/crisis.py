"""Crisis phrases: the first safety net, until the full classifier (signals) takes over. Pure.

A short list of phrases that mean someone may be in danger right now: thoughts of suicide or
self-harm, and an overdose (taken too much, someone not breathing, a number of pills). Any match
gets the crisis response and an alert, whatever the conversation state. It errs on the side of
answering: a false alarm costs a kind message, a miss can cost a life.
"""

from __future__ import annotations

import re
import unicodedata

SELF_HARM = "self_harm"
OVERDOSE = "overdose"

_PHRASES: dict[str, list[str]] = {
    OVERDOSE: [
        r"over ?dos(?:e|ed|ing)",
        r"\bod'?(?:ed|d|ing)\b",
        r"took (?:\w+ )?(?:\d+|a lot of|too many|all (?:my|the|of my)) ?(?:\w+ )?"
        r"(?:pills?|tylenol|tablets?|advil|ibuprofen|acetaminophen|excedrin|xanax|oxy\w*|percs?)",
        r"\b(?:\d{3,5}) ?mg\b",
        r"not breathing|isn'?t breathing|stopped breathing",
        r"won'?t wake up|can'?t wake (?:him|her|them)",
        r"narcan|naloxone",
        r"sobredosis",
        r"(?:tom[eé]|me tom[eé]) (?:\w+ )?(?:\d+|muchas|todas (?:las|mis)) ?(?:\w+ )?"
        r"(?:pastillas|tabletas|pildoras|píldoras)",
        r"no respira|dej[oó] de respirar|no despierta",
        r"naloxona",
        r"💊",
    ],
    SELF_HARM: [
        r"kill(?:ing)? my ?self",
        r"\bkms\b",
        r"suicid",
        r"end (?:it all|my life|things)",
        r"(?:want|wanna|going|gonna) (?:to )?die",
        r"better off dead",
        r"un ?alive",
        r"hurt(?:ing)? my ?self|cut(?:ting)? my ?self|self[- ]harm",
        r"sleep and (?:never|not) wake up",
        r"no reason to live|don'?t want to (?:live|be here)",
        r"matarme|quitarme la vida|suicid",
        r"quiero morir|me quiero morir|quisiera morir|mejor muert[oa]",
        r"hacerme daño|cortarme|lastimarme",
        r"no quiero vivir|no quiero seguir viviendo",
        r"dormir y no despertar",
    ],
}
_PATTERNS = {
    kind: re.compile("|".join(f"(?:{phrase})" for phrase in phrases), re.IGNORECASE)
    for kind, phrases in _PHRASES.items()
}


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'")  # a curly apostrophe


def crisis_kind(text: str | None) -> str | None:
    """``overdose`` or ``self_harm`` when the text may mean danger now, else None.

    Overdose wins when both match (an emergency in progress). A phrase right after a plain
    negation ("I'm not going to kill myself") is still answered: crisis answers err on the side of
    care, and the classifier weighs negation and time.
    """
    if not text:
        return None
    normal = _normal(text)
    for kind in (OVERDOSE, SELF_HARM):
        if _PATTERNS[kind].search(normal):
            return kind
    return None
