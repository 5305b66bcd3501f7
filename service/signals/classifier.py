"""What a client's words say: risk, talk of leaving treatment, and MI talk type. Pure.

For each inbound text (English or Spanish) the classifier finds the **risk kinds** (self-harm,
overdose, relapse, craving, a request for help), **talk of stopping** medication for opioid or
alcohol use or of leaving the program (``sustain_talk``), and the **talk type** of Motivational
Interviewing: change talk (DARN-CAT), sustain talk (reasons for the status quo) or neither. Each
finding carries its evidence, the words as the client wrote them, so staff see why.

It is plain patterns and a few scope rules, so that every decision can be explained and an admin
can extend it without code: the phrases live in TOML lexicons (``lexicons/en.toml``,
``lexicons/es.toml``; the format is described at the top of ``en.toml`` and in docs/signals.md),
and `Classifier.load` merges a deployment's own files over them. Nothing is learned from data.

Scope rules, applied to each match of a kind's phrases:

- **Exceptions** written down for the kind (figurative speech, "this heat is killing me"; an
  ordinary context, "took 800mg ibuprofen for my back") cancel a match they overlap.
- **Negation** cancels a match when a negation cue stands in the same clause, at most
  ``window`` words before it ("not going to drink", "no thoughts of hurting myself"). Clauses end
  at punctuation and at words such as "and" and "but", so "I'm not ok and I want to die" flags.
  Self-harm and overdose get a shorter window, and a phrase that holds its own "not" ("can't see
  a reason to go on") is never cancelled: when in doubt they flag (a false alarm costs a kind
  message, a miss can cost a life). A cue inside a negation **exception** negates nothing: an
  idiom ("not gonna lie", "no te voy a mentir"), a double negation ("can't promise I won't"), a
  plea ("don't let me") or a comparative ("never wanted to die more than today").
- **Time**: a past cue earlier in the clause ("I used to want to die") or a "not any more" later
  in the sentence ("... but not anymore", "... pero ya no") cancels the match.
- **Someone else**, and other per-kind cues before or after ("my brother relapsed", "my cousin
  od'd last month"), cancel it too.

Talk type counts change and sustain cues. A negated cue counts for the other side ("I don't want
to quit" is sustain talk, "no cravings today" change talk); a cue after the last "but" counts
double (what follows "but" is what the speaker leans to); the words of a self-harm or overdose
finding are not talk ("I just want to die" is no wish to change); talk of stopping medication or
the program makes the talk sustain; a message of backchannels only ("mm-hmm", "yeah, okay") is
neutral.

Text is matched lower-cased, without accents and without apostrophes, so "Recaí", "recai" and
"RECAÍ" read alike and "don't" reads as "dont"; the evidence is cut from the original text.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from service.errors import ConfigError

LEXICONS = Path(__file__).with_name("lexicons")

SEVERITY = {  # also the order of findings of equal severity: an emergency in progress first
    "overdose": "critical",
    "self_harm": "critical",
    "relapse": "high",
    "help_request": "high",
    "craving": "medium",
    "sustain_talk": "low",
}
KINDS = tuple(SEVERITY)
RISK_KINDS = frozenset(KINDS) - {"sustain_talk"}
SAFETY_KINDS = frozenset({"self_harm", "overdose"})  # when in doubt, flag
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

CHANGE, SUSTAIN, NEUTRAL = "change", "sustain", "neutral"

# The lexicon schema: each table and its keys, with the type of each key.
_PHRASES = "phrases"  # a list of regex fragments
_NUMBER = "number"  # a small whole number
_KIND_KEYS = {
    "patterns": _PHRASES,
    "exceptions": _PHRASES,
    "unless_before": _PHRASES,
    "unless_after": _PHRASES,
}
_SCHEMA: dict[str, dict[str, str]] = {
    **{kind: _KIND_KEYS for kind in KINDS},
    "words": {},  # any name: a list of phrases, used in other phrases as {name}
    "negation": {
        "cues": _PHRASES,
        "exceptions": _PHRASES,
        "window": _NUMBER,
        "safety_window": _NUMBER,
    },
    "past": {"before": _PHRASES, "after": _PHRASES},
    "clauses": {"boundaries": _PHRASES},
    "talk": {"change": _PHRASES, "sustain": _PHRASES, "neutral": _PHRASES, "pivots": _PHRASES},
}
_DEFAULT_NUMBERS = {("negation", "window"): 4, ("negation", "safety_window"): 3}
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?\n]")


class Finding(NamedTuple):
    kind: str  # self_harm | overdose | relapse | craving | help_request | sustain_talk
    severity: str  # critical | high | medium | low
    evidence: str  # the triggering words, as written


class Reading(NamedTuple):
    """What one text says: findings, most severe first and at most one per kind, and the talk."""

    signals: tuple[Finding, ...]
    talk: str  # change | sustain | neutral
    talk_evidence: str  # the cue words for change or sustain talk, "" for neutral

    @property
    def critical(self) -> bool:
        return any(finding.severity == "critical" for finding in self.signals)

    def as_json(self, text: str) -> dict[str, object]:
        return {
            "text": text,
            "signals": [finding._asdict() for finding in self.signals],
            "talk": self.talk,
        }


# Folding: lower case, no accents, no apostrophes; with a map back to the original text.

_APOSTROPHES = "'`\u2018\u2019\u02bc\u00b4\u2032"
_NO_APOSTROPHES = str.maketrans(dict.fromkeys(_APOSTROPHES))


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(part for part in decomposed if not unicodedata.combining(part))
    return kept.lower().translate(_NO_APOSTROPHES)


def _fold(text: str) -> tuple[str, list[int] | None]:
    """The text as patterns see it ("Don't" reads "dont", "Recaí" "recai"), and where each of
    its characters came from (None: the same place)."""
    if text.isascii():
        lowered = text.lower()
        if "'" not in lowered and "`" not in lowered:
            return _shorten_runs(lowered, None)
        origin = [index for index, char in enumerate(lowered) if char not in "'`"]
        origin.append(len(text))
        return _shorten_runs(lowered.translate(_NO_APOSTROPHES), origin)
    parts: list[str] = []
    origin = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    origin.append(len(text))
    return _shorten_runs("".join(parts), origin)


# A short unit of characters that are not word characters (an emoji, "!", "💊 "), repeated more
# than `_REPEATS_KEPT` times, is read as that many. Phrases that gap between words
# (``(?:\W+\w+){0,6}?\W+``) or start with an emoji ("💊") can begin at every repetition and read
# on to the end of the run: a message of 2,048 pills took 0.2 s. No phrase counts more than a few
# repetitions, so what matches is the same. The repetitions kept stand for the first and the last
# half of the run, so that evidence starting or ending in it quotes what a full reading would.
_REPEATS_KEPT = 8
_REPEATS = re.compile(rf"(\W{{1,4}}?)\1{{{_REPEATS_KEPT},}}")


def _shorten_runs(folded: str, origin: list[int] | None) -> tuple[str, list[int] | None]:
    runs = list(_REPEATS.finditer(folded))
    if not runs:
        return folded, origin
    where = origin if origin is not None else list(range(len(folded) + 1))
    parts: list[str] = []
    kept: list[int] = []
    done = 0
    for run in runs:
        half = _REPEATS_KEPT // 2 * len(run[1])
        head, tail = run.start() + half, run.end() - half
        parts += [folded[done:head], folded[tail : run.end()]]
        kept += where[done:head] + where[tail : run.end()]
        done = run.end()
    parts.append(folded[done:])
    kept += where[done:]
    return "".join(parts), kept


def _fold_pattern(pattern: str) -> str:
    """A lexicon phrase folded like the text: accents and apostrophes off, literals lower-cased,
    escapes (``\\S``, ``\\W``) and group syntax (``(?P<name>``) left as written."""
    decomposed = unicodedata.normalize("NFKD", pattern)
    plain = "".join(part for part in decomposed if not unicodedata.combining(part))
    out: list[str] = []
    escaped = False
    for index, char in enumerate(plain):
        if escaped or (index >= 2 and plain.startswith("(?P", index - 2)):
            out.append(char)
        elif char in _APOSTROPHES:
            if plain.startswith("?", index + 1):  # "don'?t": the "?" goes with the apostrophe
                out.append("(?:)")
        else:
            out.append(char.lower())
        escaped = char == "\\" and not escaped
    return "".join(out).replace("(?:)?", "")


# Lexicon files: read, check, merge, compile.

Table = dict[str, list[str] | int]
Lexicon = dict[str, Table]


def _read(path: Path) -> tuple[str, Lexicon]:
    """One lexicon file as its language and tables; a ``ValueError`` names the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a readable TOML file: {exc}") from None
    lang = data.pop("lang", None)
    if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}", lang):
        raise ValueError(f'{path}: lang: needs a language code such as "en" or "es"')
    lexicon: Lexicon = {}
    for name, table in data.items():
        keys = _SCHEMA.get(name)
        if keys is None:
            known = ", ".join(["lang", *_SCHEMA])
            raise ValueError(f"{path}: {name}: unknown table (known: {known})")
        if not isinstance(table, dict):
            raise ValueError(f"{path}: {name}: must be a table ([{name}])")
        lexicon[name] = {}
        for key, value in table.items():
            where = f"{path}: {name}.{key}"
            if name == "words" and not re.fullmatch(r"[a-z_]+", key):
                raise ValueError(f"{where}: a word list's name is lower-case letters and _")
            if key not in keys and name != "words":
                raise ValueError(f"{where}: unknown key (known: {', '.join(keys)})")
            if keys.get(key) == _NUMBER:
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 20:
                    raise ValueError(f"{where}: must be a whole number from 0 to 20")
                lexicon[name][key] = value
            else:
                lexicon[name][key] = _phrases(where, value)
    return lang, lexicon


def _phrases(where: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: must be a list of strings (regex fragments)")
    for index, phrase in enumerate(value):
        try:
            compiled = re.compile(f"(?:{_fold_pattern(phrase)})")
        except re.error as exc:
            raise ValueError(f"{where}[{index}]: {phrase!r} is not a valid regex: {exc}") from None
        if compiled.groups:  # groups would only slow the combined pattern down
            raise ValueError(f"{where}[{index}]: {phrase!r}: use (?:...) instead of (...)")
        if compiled.fullmatch(""):
            raise ValueError(f"{where}[{index}]: {phrase!r} matches the empty text")
    return list(value)


def _merge(into: Lexicon, more: Lexicon) -> None:
    """Lists are extended (an extra file adds phrases), numbers replaced."""
    for name, table in more.items():
        target = into.setdefault(name, {})
        for key, value in table.items():
            previous = target.get(key)
            if isinstance(value, list) and isinstance(previous, list):
                target[key] = [*previous, *value]
            else:
                target[key] = value


_REFERENCE = re.compile(r"\{([a-z_]+)\}")


def _references(lexicon: Lexicon) -> Iterator[tuple[str, str]]:
    """Each ``{name}`` a file's phrases use, with the ``table.key[index]`` it is in."""
    for name, table in lexicon.items():
        if name == "words":
            continue
        for key, value in table.items():
            for index, phrase in enumerate(value if isinstance(value, list) else []):
                for reference in _REFERENCE.finditer(phrase):
                    yield f"{name}.{key}[{index}]", reference[1]


# Speed: a message is matched against a few hundred phrases per kind, at every word. Python's
# regex engine tries each alternative in turn, so the phrases are grouped by the characters they
# can begin with, each group behind a one-character lookahead: at a given word only the phrases
# that can begin with its first character are tried, still in the lexicon's order, so a match is
# the same one (the same phrase wins, the same words are the evidence).

_COUNTED = re.compile(r"\{(\d*)(?:,\d*)?\}")
Chars = frozenset[str] | None  # None: any character (or not worked out)


@functools.lru_cache(maxsize=4096)
def _first_chars(phrase: str) -> Chars:
    """The characters a match of ``phrase`` can begin with; None when it could be any, or when
    the phrase uses syntax this reading does not follow (it then errs towards "any")."""
    try:
        chars, nullable, end = _alternation(phrase, 0)
    except (IndexError, ValueError):
        return None
    return None if nullable or end != len(phrase) or not chars else chars


def _alternation(text: str, at: int) -> tuple[Chars, bool, int]:
    chars: Chars = frozenset()
    nullable = False
    while True:
        first, empty, at = _sequence(text, at)
        chars = None if chars is None or first is None else chars | first
        nullable = nullable or empty
        if at < len(text) and text[at] == "|":
            at += 1
            continue
        return chars, nullable, at


def _sequence(text: str, at: int) -> tuple[Chars, bool, int]:
    chars: Chars = frozenset()
    settled = False  # an item that cannot match empty has been seen
    while at < len(text) and text[at] not in "|)":
        first, empty, at = _item(text, at)
        optional, at = _quantifier(text, at)
        if not settled:
            chars = None if chars is None or first is None else chars | first
            settled = not (empty or optional)
    return chars, not settled, at


def _item(text: str, at: int) -> tuple[Chars, bool, int]:
    """What one item (a character, a class, an escape, a group) can begin with, whether it can
    match nothing, and where it ends."""
    char = text[at]
    if char == "(":
        return _parenthesis(text, at)
    if char == "[":
        return _class(text, at)
    if char == "\\":
        escaped = text[at + 1]
        if escaped in "bBAZ":  # a boundary: zero width
            return frozenset(), True, at + 2
        # \d, \w, \s...: any (\d is also a digit of other scripts)
        return (None if escaped.isalnum() else frozenset(escaped)), False, at + 2
    if char in "^$":
        return frozenset(), True, at + 1
    return (None if char in ".*+?{" else frozenset(char)), False, at + 1


def _parenthesis(text: str, at: int) -> tuple[Chars, bool, int]:
    openings = (("(?:", False), ("(?=", True), ("(?!", True), ("(?<=", True), ("(?<!", True))
    for opening, zero_width in openings:  # lookarounds are zero width
        if text.startswith(opening, at):
            chars, nullable, end = _alternation(text, at + len(opening))
            if text[end] != ")":
                raise ValueError(text)
            return (frozenset(), True, end + 1) if zero_width else (chars, nullable, end + 1)
    raise ValueError(text)  # a capturing group or flags: not followed


def _class(text: str, at: int) -> tuple[Chars, bool, int]:
    """A character class ``[...]``: its characters (any, when negated or holding an escape such
    as \\d or a wide range)."""
    at += 1
    negated = text[at] == "^"
    at += negated
    chars: set[str] | None = set()
    first = True
    while first or text[at] != "]":
        first = False
        char = text[at]
        if char == "\\":
            escaped = text[at + 1]
            at += 2
            if escaped.isalnum():
                chars = None
            elif chars is not None:
                chars.add(escaped)
        elif text[at + 1] == "-" and text[at + 2] != "]":
            low, high = ord(char), ord(text[at + 2])
            at += 3
            if chars is not None and high - low <= 64:
                chars.update(chr(code) for code in range(low, high + 1))
            else:
                chars = None
        else:
            if chars is not None:
                chars.add(char)
            at += 1
    return (None if negated or chars is None else frozenset(chars)), False, at + 1


def _quantifier(text: str, at: int) -> tuple[bool, int]:
    """Whether a quantifier at ``at`` lets the item before it match nothing, and where it ends."""
    if at >= len(text):
        return False, at
    char = text[at]
    if char in "?*+":
        at += 1
        optional = char != "+"
    elif (counted := _COUNTED.match(text, at)) is not None:
        at = counted.end()
        optional = not int(counted[1] or 0)
    else:
        return False, at
    if at < len(text) and text[at] in "?+":  # lazy or possessive
        at += 1
    return optional, at


@functools.lru_cache(maxsize=8192)
def _restrict(phrase: str, start: str) -> str:
    """``phrase`` without the alternatives of its opening group that cannot begin with ``start``:
    the same matches at a word that begins with it, from a smaller pattern."""
    if not phrase.startswith("(?:"):
        return phrase
    try:
        alternatives, end = _group(phrase, 0)
        _, after = _quantifier(phrase, end)
    except (IndexError, ValueError):
        return phrase
    if after != end:  # a quantified group ("(?:\\w+ )?"): left as it is
        return phrase
    kept = [
        _restrict(alternative, start)
        for alternative in alternatives
        if (chars := _first_chars(alternative)) is None or start in chars
    ]
    return "(?:" + "|".join(kept) + ")" + phrase[end:]


def _group(text: str, at: int) -> tuple[list[str], int]:
    """The alternatives of the ``(?:...)`` group at ``at``, and where the group ends."""
    alternatives = []
    begin = at + 3
    while True:
        _, _, end = _sequence(text, begin)
        alternatives.append(text[begin:end])
        if text[end] == ")":
            return alternatives, end + 1
        begin = end + 1


def _by_first_char(phrases: list[str]) -> str:
    """The phrases as one alternation, grouped by the character they begin with (see above)."""
    firsts = [_first_chars(phrase) for phrase in phrases]
    if len(phrases) < 40:  # a short list is quick as it is
        return "|".join(f"(?:{phrase})" for phrase in phrases)
    starts = sorted({char for chars in firsts if chars is not None for char in chars})
    groups = []
    for start in starts:
        members = [
            _restrict(phrase, start)
            for phrase, chars in zip(phrases, firsts, strict=True)
            if chars is None or start in chars
        ]
        groups.append(f"(?={re.escape(start)})(?:" + "|".join(f"(?:{p})" for p in members) + ")")
    anywhere = [p for p, chars in zip(phrases, firsts, strict=True) if chars is None]
    if anywhere:
        rest = "".join(re.escape(start) for start in starts)
        guard = f"(?![{rest}])" if rest else ""
        groups.append(guard + "(?:" + "|".join(f"(?:{p})" for p in anywhere) + ")")
    return "|".join(groups)


class _Compiler:
    """Phrases into patterns, with word lists (``{drug}``) filled in."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.words = {
            name: "(?:" + "|".join(f"(?:{phrase})" for phrase in dict.fromkeys(value)) + ")"
            for name, value in lexicon.get("words", {}).items()
            if isinstance(value, list) and value
        }

    def phrases(self, name: str, key: str) -> list[str]:
        value = self.lexicon.get(name, {}).get(key, [])
        return [
            _fold_pattern(_REFERENCE.sub(lambda m: self.words.get(m[1], m[0]), phrase))
            for phrase in dict.fromkeys(value if isinstance(value, list) else [])
        ]

    def number(self, name: str, key: str) -> int:
        value = self.lexicon.get(name, {}).get(key)
        return value if isinstance(value, int) else _DEFAULT_NUMBERS[(name, key)]

    def words_of(self, name: str, key: str) -> re.Pattern[str] | None:
        """Any of the phrases, as whole words (not inside a longer word)."""
        phrases = self.phrases(name, key)
        if not phrases:
            return None
        return re.compile(rf"(?<!\w)(?:{_by_first_char(phrases)})(?!\w)")

    def any_of(self, name: str, key: str) -> re.Pattern[str] | None:
        phrases = self.phrases(name, key)
        return re.compile("|".join(f"(?:{phrase})" for phrase in phrases)) if phrases else None

    def backchannels(self) -> re.Pattern[str] | None:
        """A whole text made of backchannels ("mm-hmm", "yeah, okay"), each a whole word."""
        phrases = self.phrases("talk", "neutral")
        if not phrases:
            return None
        alternatives = "|".join(f"(?:{phrase})" for phrase in phrases)
        return re.compile(rf"\W*(?:(?:{alternatives})(?!\w)\W*)+")


@dataclass(frozen=True)
class _KindRules:
    patterns: re.Pattern[str]
    exceptions: re.Pattern[str] | None  # figurative speech, ordinary contexts
    unless_before: re.Pattern[str] | None  # in the clause before: not this kind
    unless_after: re.Pattern[str] | None  # later in the sentence: not this kind


@dataclass(frozen=True)
class _Rules:
    """One language's lexicon (or all of them together), compiled."""

    kinds: dict[str, _KindRules]
    negation: re.Pattern[str] | None
    not_negating: re.Pattern[str] | None  # hold a cue but negate nothing: "not gonna lie"
    window: int
    safety_window: int
    past_before: re.Pattern[str] | None
    past_after: re.Pattern[str] | None
    boundaries: re.Pattern[str] | None
    change: re.Pattern[str] | None
    sustain: re.Pattern[str] | None
    neutral: re.Pattern[str] | None
    pivots: re.Pattern[str] | None


def _compile(lexicon: Lexicon) -> _Rules:
    make = _Compiler(lexicon)
    kinds: dict[str, _KindRules] = {}
    for kind in KINDS:
        patterns = make.words_of(kind, "patterns")
        if patterns is not None:
            kinds[kind] = _KindRules(
                patterns,
                make.words_of(kind, "exceptions"),
                make.words_of(kind, "unless_before"),
                make.words_of(kind, "unless_after"),
            )
    return _Rules(
        kinds=kinds,
        negation=make.words_of("negation", "cues"),
        not_negating=make.words_of("negation", "exceptions"),
        window=make.number("negation", "window"),
        safety_window=make.number("negation", "safety_window"),
        past_before=make.words_of("past", "before"),
        past_after=make.words_of("past", "after"),
        boundaries=make.any_of("clauses", "boundaries"),
        change=make.words_of("talk", "change"),
        sustain=make.words_of("talk", "sustain"),
        neutral=make.backchannels(),
        pivots=make.words_of("talk", "pivots"),
    )


# Scope: clauses, negation, time.
#
# Speed: a text can hold thousands of matches (a full message of "i want to die "), and each goes
# through the scope rules, which look back to the start of its clause and on to the end of its
# sentence. Rescanning the text for each match made a message quadratic (40 KB: ~40 s), so each
# pattern the rules use is run over the whole text once (`_Walk`), and each rule's scan is worked
# out from those matches with `bisect`, to the same result:
#
# - A scan from a position (``finditer(text, pos)``) finds the matches of the whole-text scan that
#   begin at or after it, once it is past any whole-text match it began inside (`_Walk.after`).
# - A scan up to a position (``finditer(text, pos, endpos)``: the clause before a match) sees the
#   text end there, which can change what a phrase matches near that end (a lookahead, ``$``). A
#   match attempt that begins `_MARGIN` words or more before the end reads nothing past it (no
#   lexicon phrase spans that many words), so up to there the whole-text matches stand, and only
#   the last `_MARGIN` words are scanned again, as the text ends (`_Walk.until`).

_MARGIN = 48  # words; more than any lexicon phrase, lookaheads included, can span
_SHORT = 512  # characters: a text this short is scanned as it is, which is quicker for it
_Found = tuple[list["Span"], int, int, list["Span"]]  # see `_Walk.until`


class _Walk:
    """One pattern's matches over the whole text, found once."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.pattern = pattern
        self.text = text
        self.starts: list[int] = []
        self.ends: list[int] = []
        for match in pattern.finditer(text):
            self.starts.append(match.start())
            self.ends.append(match.end())
        # An empty match moves a scan on by a character: then each scan is run as it is.
        self.exact = all(start < end for start, end in zip(self.starts, self.ends, strict=True))

    def overlaps(self, start: int, end: int) -> bool:
        """Whether a whole-text match overlaps ``text[start:end]``."""
        index = bisect.bisect_right(self.ends, start)  # the first match ending after ``start``
        return index < len(self.starts) and self.starts[index] < end

    def after(self, pos: int) -> tuple[list[Span], int] | None:
        """``finditer(text, pos)``: its first matches, then the whole-text matches from an index
        on; None when the walk is not exact."""
        if not self.exact:
            return None
        head: list[Span] = []
        while True:
            index = bisect.bisect_left(self.starts, pos)
            if index == 0 or self.ends[index - 1] <= pos:  # not inside a whole-text match
                return head, index
            # Inside one: a match may begin before its end (the whole-text scan skipped those
            # places); if none does, the next is the whole-text scan's next.
            for at in range(pos, self.ends[index - 1]):
                match = self.pattern.match(self.text, at)
                if match is not None:
                    break
            else:
                return head, index
            if match.end() == match.start():
                return None
            head.append(match.span())
            pos = match.end()

    def until(self, pos: int, endpos: int, cut: int) -> _Found:
        """``finditer(text, pos, endpos)`` as (matches, i, j, more): ``matches``, then the
        whole-text matches ``i`` to ``j``, then ``more``. Attempts that begin before ``cut`` read
        nothing at or past ``endpos``."""
        walked = self.after(pos) if pos < cut else None
        if walked is None:
            return [], 0, 0, [m.span() for m in self.pattern.finditer(self.text, pos, endpos)]
        head, index = walked
        kept = [span for span in head if span[0] < cut]
        stop = index if len(kept) < len(head) else bisect.bisect_left(self.starts, cut, index)
        last = self.ends[stop - 1] if stop > index else kept[-1][1] if kept else pos
        if last > endpos:  # not as the margin promises: scan it all
            return [], 0, 0, [m.span() for m in self.pattern.finditer(self.text, pos, endpos)]
        more = [m.span() for m in self.pattern.finditer(self.text, max(last, cut), endpos)]
        return kept, index, stop, more


class _Text:
    """One (folded) text, with what the scope rules look up in it, found once."""

    def __init__(self, rules: _Rules, text: str) -> None:
        self.rules = rules
        self.text = text
        self.short = len(text) <= _SHORT
        self._walks: dict[int, _Walk] = {}
        self._clauses: dict[int, int] = {}
        self._void: dict[int, tuple[list[Span], int] | list[Span]] = {}

    # Worked out when first asked for: most texts are a line or two, and need none of this.

    @functools.cached_property
    def _word_spans(self) -> tuple[list[int], list[int]]:
        spans = [m.span() for m in _WORD.finditer(self.text)]
        return [start for start, _ in spans], [end for _, end in spans]

    @functools.cached_property
    def sentence_ends(self) -> list[int]:
        return [m.start() for m in _SENTENCE_END.finditer(self.text)]

    def walk(self, pattern: re.Pattern[str]) -> _Walk:
        walk = self._walks.get(id(pattern))
        if walk is None:
            walk = self._walks[id(pattern)] = _Walk(pattern, self.text)
        return walk

    def words(self, start: int, end: int) -> int:
        """``len(_WORD.findall(text, start, end))``: the word runs that reach into the span."""
        if start >= end:
            return 0
        starts, ends = self._word_spans
        return max(0, bisect.bisect_left(starts, end) - bisect.bisect_right(ends, start))

    def cut(self, endpos: int) -> int:
        """A place `_MARGIN` words before ``endpos`` (0 when there are fewer)."""
        if endpos < _MARGIN:  # too short to hold that many words
            return 0
        starts, _ = self._word_spans
        index = bisect.bisect_left(starts, endpos) - _MARGIN
        return starts[index] if index > 0 else 0

    def until(self, pattern: re.Pattern[str], pos: int, endpos: int) -> _Found:
        cut = 0 if self.short else self.cut(endpos)
        if pos >= cut:  # a short scan: as it is
            return [], 0, 0, [m.span() for m in pattern.finditer(self.text, pos, endpos)]
        return self.walk(pattern).until(pos, endpos, cut)

    def overlaps(self, pattern: re.Pattern[str] | None, start: int, end: int) -> bool:
        """Whether a match of ``pattern`` over the whole text overlaps ``text[start:end]``."""
        if pattern is None:
            return False
        if self.short:
            return any(m.start() < end and start < m.end() for m in pattern.finditer(self.text))
        return self.walk(pattern).overlaps(start, end)

    def sentence_end(self, end: int) -> int:
        """Where the sentence holding ``text[end]`` ends."""
        if self.short:
            stop = _SENTENCE_END.search(self.text, end)
            return stop.start() if stop else len(self.text)
        index = bisect.bisect_left(self.sentence_ends, end)
        return self.sentence_ends[index] if index < len(self.sentence_ends) else len(self.text)

    def search(self, pattern: re.Pattern[str] | None, pos: int, endpos: int) -> bool:
        """``pattern.search(text, pos, endpos) is not None``."""
        if pattern is None:
            return False
        kept, index, stop, more = self.until(pattern, pos, endpos)
        return bool(kept or stop > index or more)

    def clause_start(self, end: int) -> int:
        """Where the clause holding ``text[end]`` begins."""
        boundaries = self.rules.boundaries
        if boundaries is None:
            return 0
        start = self._clauses.get(end)
        if start is None:
            kept, index, stop, more = self.until(boundaries, 0, end)
            if more:
                start = more[-1][1]
            elif stop > index:
                start = self.walk(boundaries).ends[stop - 1]
            else:
                start = kept[-1][1] if kept else 0
            self._clauses[end] = start
        return start

    def void(self, clause: int, start: int, end: int) -> bool:
        """Whether a negation exception matched from ``clause`` on overlaps ``text[start:end]``."""
        pattern = self.rules.not_negating
        if pattern is None:
            return False
        found = self._void.get(clause)
        if found is None:
            walk = self.walk(pattern)
            after = walk.after(clause)
            found = self._void[clause] = (
                after
                if after is not None
                else [m.span() for m in pattern.finditer(self.text, clause)]
            )
        if isinstance(found, list):
            return any(s < end and start < e for s, e in found)
        head, index = found
        if any(s < end and start < e for s, e in head):
            return True
        walk = self.walk(pattern)
        index = bisect.bisect_right(walk.ends, start, index)
        return index < len(walk.starts) and walk.starts[index] < end


def _negated(at: _Text, start: int, window: int) -> bool:
    """A negation cue in the same clause, at most ``window`` words before ``start``. A cue
    inside a negation exception negates nothing: an idiom ("not gonna lie", "no te voy a
    mentir"), a double negation ("can't promise I won't"), a plea ("don't let me") or a
    comparative ("never wanted to ... more than today"); the last cue outside one counts."""
    negation = at.rules.negation
    if negation is None:
        return False
    clause = at.clause_start(start)
    kept, index, stop, more = at.until(negation, clause, start)
    walk = at.walk(negation) if stop > index else None
    middle = (  # the cues, last first: the last one outside an exception counts, if near enough
        (walk.starts[i], walk.ends[i]) for i in range(stop - 1, index - 1, -1) if walk is not None
    )
    for cue_start, cue_end in itertools.chain(reversed(more), middle, reversed(kept)):
        if at.words(cue_end, start) > window:
            return False
        if not at.void(clause, cue_start, cue_end):
            return True
    return False


def _flipped(at: _Text, start: int, end: int) -> bool:
    """Whether a talk cue is negated ("I don't want to quit"): a cue that holds its own
    negation ("it's not a problem") keeps its side, as a "not" before it is then mostly a
    repetition ("it's not- it's not a problem")."""
    negation = at.rules.negation
    if negation is None or negation.search(at.text, start, end):
        return False
    return _negated(at, start, at.rules.window)


def _in_the_past(at: _Text, start: int, end: int) -> bool:
    """A past cue earlier in the clause ("I used to ..."), or a "not any more" later in the
    sentence."""
    if at.search(at.rules.past_before, at.clause_start(start), start):
        return True
    return _later_in_sentence(at, at.rules.past_after, end)


def _later_in_sentence(at: _Text, pattern: re.Pattern[str] | None, end: int) -> bool:
    if pattern is None:
        return False
    return at.search(pattern, end, at.sentence_end(end))


Span = tuple[int, int]


def _scope(at: _Text, kind: str, kind_rules: _KindRules, span: Span) -> str:
    """What the scope rules make of a match of a kind's phrase: it ``holds``, it is ``negated``
    ("not going to drink"), or another rule ``cancels`` it (an exception, the past, someone
    else)."""
    start, end = span
    rules = at.rules
    if (
        at.overlaps(kind_rules.exceptions, start, end)
        or _in_the_past(at, start, end)
        or _later_in_sentence(at, kind_rules.unless_after, end)
        or at.search(kind_rules.unless_before, at.clause_start(start), start)
    ):
        return "cancels"
    if rules.negation is not None and rules.negation.search(at.text, start, end):
        return "holds"  # "can't see any reason to go on" says its own "not"
    window = rules.safety_window if kind in SAFETY_KINDS else rules.window
    return "negated" if _negated(at, start, window) else "holds"


@dataclass(frozen=True)
class _Scan:
    findings: list[tuple[str, int, int]]  # the first match of each kind that holds
    turned: list[Span]  # negated craving ("no cravings today"): change talk
    crisis: list[Span]  # every self-harm or overdose phrase: not talk about change
    stopping: list[tuple[str, int, int]]  # every talk of stopping not cancelled, as a talk cue


def _scan(at: _Text) -> _Scan:
    """Every kind's matches through the scope rules. The first match that holds is a kind's
    finding; self-harm, overdose and talk of stopping go on to every match, which talk reads."""
    found: dict[str, Span] = {}
    turned: list[Span] = []
    crisis: list[Span] = []
    stopping: list[tuple[str, int, int]] = []  # "stop my suboxone"; "won't stop it" is change
    for kind, kind_rules in at.rules.kinds.items():
        for match in kind_rules.patterns.finditer(at.text):
            verdict = _scope(at, kind, kind_rules, match.span())
            if kind == "sustain_talk" and verdict != "cancels":
                stopping.append((CHANGE if verdict == "negated" else SUSTAIN, *match.span()))
            if verdict == "holds":
                found.setdefault(kind, match.span())
                if kind in SAFETY_KINDS:
                    crisis.append(match.span())
                elif kind != "sustain_talk":
                    break
            elif verdict == "negated" and kind == "craving":
                turned.append(match.span())
    return _Scan([(kind, *span) for kind, span in found.items()], turned, crisis, stopping)


def _cues(at: _Text, scan: _Scan) -> list[tuple[str, int, int]]:
    """Talk cues as (side, start, end): a negated cue counts for the other side; a cue inside
    a longer one, or inside the words of a crisis finding ("I just want to die" is no wish to
    change), does not count."""
    rules = at.rules
    cues: list[tuple[str, int, int]] = [(CHANGE, *span) for span in scan.turned]
    for side, pattern in ((CHANGE, rules.change), (SUSTAIN, rules.sustain)):
        for match in pattern.finditer(at.text) if pattern is not None else ():
            start, end = match.span()
            flipped = _flipped(at, start, end)
            cues.append(((SUSTAIN if side == CHANGE else CHANGE) if flipped else side, start, end))
    cues.extend(scan.stopping)  # talk of stopping, as the scan read it
    if len(cues) * (len(cues) + len(scan.crisis)) <= 64:  # a few: each against each
        return [
            (side, start, end)
            for side, start, end in cues
            if not any(s < end and start < e for s, e in scan.crisis)
            and not any(s <= start and end <= e and e - s > end - start for _, s, e in cues)
        ]
    # Many (a long text): sorted sweeps. The crisis spans by start, with the furthest end so far;
    # the cue spans by start (then end), with the furthest end of those beginning before each.
    crisis = sorted(scan.crisis)
    crisis_starts = [s for s, _ in crisis]
    crisis_reach = list(itertools.accumulate((e for _, e in crisis), max))
    spans = sorted({(s, e) for _, s, e in cues})
    span_starts = [s for s, _ in spans]
    reach = [0, *itertools.accumulate((e for _, e in spans), max)]

    def in_crisis(start: int, end: int) -> bool:
        index = bisect.bisect_left(crisis_starts, end)  # those beginning before ``end``
        return index > 0 and crisis_reach[index - 1] > start

    def inside_longer(start: int, end: int) -> bool:
        before = bisect.bisect_left(span_starts, start)  # those beginning before ``start``
        if before and reach[before] >= end:
            return True
        same = bisect.bisect_right(span_starts, start) - 1  # the longest beginning at ``start``
        return spans[same][1] > end

    return [
        (side, start, end)
        for side, start, end in cues
        if not in_crisis(start, end) and not inside_longer(start, end)
    ]


def _talk(at: _Text, scan: _Scan) -> tuple[str, list[Span]]:
    """Change, sustain or neutral, and the spans of the cues that decided it."""
    rules, text = at.rules, at.text
    if rules.neutral is not None and rules.neutral.fullmatch(text):
        return NEUTRAL, []
    cues = _cues(at, scan)
    if not cues:
        return NEUTRAL, []
    pivot = len(text) + 1  # cues after the last "but" weigh double
    for match in rules.pivots.finditer(text) if rules.pivots is not None else ():
        pivot = match.end()
    score = {CHANGE: 0, SUSTAIN: 0}
    for side, start, _ in cues:
        score[side] += 2 if start >= pivot else 1
    if any(kind == "sustain_talk" for kind, _, _ in scan.findings):
        winner = SUSTAIN
    elif score[CHANGE] == score[SUSTAIN]:
        winner = max(cues, key=lambda cue: cue[1])[0]  # the last word
    else:
        winner = CHANGE if score[CHANGE] > score[SUSTAIN] else SUSTAIN
    return winner, [(start, end) for side, start, end in cues if side == winner]


class Classifier:
    """Lexicons compiled once; `classify` is pure and safe to share between threads."""

    def __init__(self, rules: Mapping[str, _Rules], combined: _Rules) -> None:
        self._rules = dict(rules)
        self._combined = combined

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._rules))

    @classmethod
    def load(cls, extra: Path | None = None) -> Classifier:
        """The shipped lexicons, with every ``*.toml`` in ``extra`` merged over them (their
        phrases added, their numbers replacing). A bad file raises ``ValueError`` naming the file
        and the key."""
        paths = sorted(LEXICONS.glob("*.toml"))
        if extra is not None:
            if not extra.is_dir():
                raise ValueError(f"{extra}: not a directory of lexicon files")
            paths += sorted(extra.glob("*.toml"))
        files = [(path, *_read(path)) for path in paths]
        lexicons: dict[str, Lexicon] = {}
        for _, lang, lexicon in files:
            _merge(lexicons.setdefault(lang, {}), lexicon)
        for path, lang, lexicon in files:
            known = lexicons[lang].get("words", {})
            for where, name in _references(lexicon):
                if name not in known:
                    raise ValueError(
                        f"{path}: {where}: no word list {{{name}}} (define it under [words])"
                    )
        combined: Lexicon = {}
        for lexicon in lexicons.values():
            _merge(combined, lexicon)
        compiled = {lang: _compile(lexicon) for lang, lexicon in lexicons.items()}
        return cls(compiled, _compile(combined))

    def classify(self, text: str, lang: str | None = None) -> Reading:
        """Findings and talk type for one text. ``lang`` "en" or "es"; None (or a language
        without a lexicon) tries them all."""
        rules = self._rules.get(lang, self._combined) if lang else self._combined
        folded, origin = _fold(text)

        def written(start: int, end: int) -> str:
            if origin is None:
                return text[start:end]
            return text[origin[start] : origin[end - 1] + 1] if end > start else ""

        at = _Text(rules, folded)
        scan = _scan(at)
        findings = sorted(
            (
                Finding(kind, SEVERITY[kind], written(start, end))
                for kind, start, end in scan.findings
            ),
            key=lambda finding: (_RANK[finding.severity], KINDS.index(finding.kind)),
        )
        talk, cues = _talk(at, scan)
        evidence = "; ".join(dict.fromkeys(written(start, end) for start, end in sorted(cues)))
        return Reading(tuple(findings), talk, evidence)


@functools.cache
def default_classifier() -> Classifier:
    """The shipped lexicons, compiled once per process."""
    return Classifier.load()


def classifier_for(extra: Path | None) -> Classifier:
    """The shipped lexicons, with a deployment's own directory merged over them if it has one;
    ``ConfigError`` if its files don't hold."""
    if extra is None:
        return default_classifier()
    try:
        return Classifier.load(extra)
    except ValueError as exc:
        raise ConfigError(f"lexicons in {extra}: {exc}") from None
