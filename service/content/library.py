"""The message library's files: a YAML metadata header in a Jinja2 comment, then the body.

Pure: parsing and validating text, no file system beyond reading, no Jinja2 or database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

HEADER = re.compile(r"\A\{#-?[ \t]*\n(?P<yaml>.*?)\n[ \t]*-?#\}[ \t]*\n?", re.DOTALL)

VALUES = (
    "family",
    "health",
    "work",
    "faith",
    "friendship",
    "freedom",
    "creativity",
    "learning",
    "nature",
    "helping_others",
)
STAGES = ("precontemplation", "contemplation", "preparation", "action", "maintenance")
LANGUAGES = ("en", "es")
ANY = "any"


class Category(StrEnum):
    checkin_opener = "checkin_opener"
    scale_question = "scale_question"
    scale_followup = "scale_followup"
    affirmation = "affirmation"
    self_efficacy = "self_efficacy"
    values_reflection = "values_reflection"
    change_talk = "change_talk"
    relapse_response = "relapse_response"
    reengagement = "reengagement"
    milestone = "milestone"
    crisis_response = "crisis_response"
    pause_confirmation = "pause_confirmation"
    resume_confirmation = "resume_confirmation"
    stop_confirmation = "stop_confirmation"
    staff_alert = "staff_alert"


class Technique(StrEnum):
    open_question = "open_question"
    affirmation = "affirmation"
    reflection = "reflection"
    summary = "summary"
    change_talk = "change_talk"
    self_efficacy = "self_efficacy"
    discrepancy = "discrepancy"
    information = "information"


# Keys a header may carry beyond the common ones, and the values each allows.
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "scale": ("mood", "craving", "confidence"),
    "band": ("low", "middle", "high"),
    "milestone": ("1", "7", "30", "60", "90", "180", "365", "yearly"),
    "darn_cat": (
        "desire",
        "ability",
        "reasons",
        "need",
        "commitment",
        "activation",
        "taking_steps",
    ),
    "alert": (
        "self_harm",
        "overdose",
        "relapse",
        "craving",
        "help_request",
        "ambivalence",
        "silence",
        "sos",
        "low_scale",
        "escalation",
    ),
}
REQUIRED_EXTRAS: dict[Category, tuple[str, ...]] = {
    Category.scale_question: ("scale",),
    Category.scale_followup: ("scale", "band"),
    Category.milestone: ("milestone",),
    Category.change_talk: ("darn_cat",),
    Category.crisis_response: ("alert",),
    Category.staff_alert: ("alert",),
}
STAFF_CATEGORIES = frozenset({Category.staff_alert})


@dataclass(frozen=True)
class Problem:
    """Something wrong with a template, at a line of its file (1-based; 0 when not known)."""

    line: int
    kind: str  # header, syntax, variable, unsafe, limit, lint
    message: str


@dataclass(frozen=True)
class Meta:
    id: str
    category: Category
    technique: Technique
    language: str
    values: tuple[str, ...] = ()  # empty: speaks to any value
    stages: tuple[str, ...] = ()  # empty: suits any stage
    extras: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(
        cls,
        template_id: str,
        *,
        category: str,
        technique: str,
        language: str,
        values: Iterable[str],
        stages: Iterable[str],
        extras: dict[str, str],
    ) -> Meta:
        """Metadata as the database keeps it (the header's fields, already validated)."""
        return cls(
            template_id,
            Category(category),
            Technique(technique),
            language,
            tuple(values),
            tuple(stages),
            dict(extras),
        )

    @property
    def audience(self) -> str:
        return "staff" if self.category in STAFF_CATEGORIES else "client"


@dataclass(frozen=True)
class Source:
    """One template as written: its metadata, its body and where the body starts in the file."""

    meta: Meta
    body: str
    body_line: int  # the file's line number of the body's first line
    path: Path | None = None


class HeaderError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def has_header(text: str) -> bool:
    return HEADER.match(text) is not None


def parse(text: str, path: Path | None = None) -> Source:
    """Split a template file into its metadata and body; ``HeaderError`` lists what is wrong."""
    match = HEADER.match(text)
    if match is None:
        raise HeaderError([Problem(1, "header", "no metadata header ({# ... #}) at the top")])
    try:
        raw = yaml.safe_load(match["yaml"])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        raise HeaderError(
            [Problem(line, "header", f"the header is not valid YAML: {exc}")]
        ) from None
    if not isinstance(raw, dict):
        raise HeaderError([Problem(1, "header", "the header must be YAML keys and values")])
    meta = _meta(raw, path)
    body_line = text[: match.end()].count("\n") + 1
    return Source(meta, text[match.end() :], body_line, path)


def _meta(raw: dict[str, Any], path: Path | None) -> Meta:
    problems: list[Problem] = []

    def complain(message: str) -> None:
        problems.append(Problem(_header_line(raw, message), "header", message))

    def one_of(key: str, allowed: Iterable[str]) -> str:
        value = raw.get(key)
        allowed = tuple(allowed)
        if value is None:
            complain(f"`{key}` is missing")
            return ""
        if str(value) not in allowed:
            complain(f"`{key}: {value}` is not one of {', '.join(allowed)}")
        return str(value)

    def listing(key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        value = raw.get(key)
        if not isinstance(value, list) or not value:
            complain(f"`{key}` must be a list, e.g. [{allowed[0]}] or [{ANY}]")
            return ()
        items = tuple(str(item) for item in value)
        unknown = [item for item in items if item not in (*allowed, ANY)]
        if unknown:
            complain(f"`{key}` has unknown {', '.join(unknown)}; known: {', '.join(allowed)}")
        if ANY in items and len(items) > 1:
            complain(f"`{key}` lists `{ANY}` with others")
        return () if ANY in items else items

    template_id = str(raw.get("id") or "")
    if not re.fullmatch(r"[a-z0-9_]+(-[a-z0-9_]+)*", template_id):
        complain("`id` must be lowercase letters, digits, _ and -, e.g. affirmation-family-1")
    elif path is not None and path.stem != template_id:
        complain(f"`id: {template_id}` differs from the file name {path.name}")
    category = one_of("category", Category)
    technique = one_of("technique", Technique)
    language = one_of("language", LANGUAGES)
    values = listing("values", VALUES)
    stages = listing("stages", STAGES)
    extras: dict[str, str] = {}
    for key, allowed in EXTRA_KEYS.items():
        if key in raw:
            extras[key] = one_of(key, allowed)
    if category in Category.__members__:
        for key in REQUIRED_EXTRAS.get(Category(category), ()):
            if key not in raw:
                complain(f"a {category} template needs `{key}`")
    known = {"id", "category", "technique", "language", "values", "stages", *EXTRA_KEYS}
    for key in raw:
        if key not in known:
            complain(f"unknown header key `{key}`")
    if problems:
        raise HeaderError(problems)
    return Meta(
        id=template_id,
        category=Category(category),
        technique=Technique(technique),
        language=language,
        values=values,
        stages=stages,
        extras=extras,
    )


def _header_line(raw: dict[str, Any], message: str) -> int:
    """The line of the key a message is about (header keys start on line 2)."""
    keys = list(raw)
    for index, key in enumerate(keys):
        if f"`{key}" in message:
            return index + 2
    return 1


def template_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The template files among ``paths``, folders searched recursively, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                child for child in path.rglob("*") if child.is_file() and child.suffix == ".j2"
            )
        else:
            yield path


def load(folder: Path) -> list[Source]:
    """Every template under ``folder``; raises ``HeaderError`` naming the first bad file."""
    sources = []
    for path in template_files([folder]):
        try:
            sources.append(parse(path.read_text(encoding="utf-8"), path))
        except HeaderError as exc:
            raise HeaderError(
                [Problem(p.line, p.kind, f"{path}: {p.message}") for p in exc.problems]
            ) from None
    return sources
