"""`aftercare templates check`: everything that can be wrong with a template file, by line."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from service.content.compose import SAMPLE_CLIENT, SAMPLE_STAFF, client_context
from service.content.library import Category, HeaderError, Problem, Technique, has_header, parse
from service.content.lint import lint
from service.content.rendering import Renderer, RenderError

SPANISH_HINT = re.compile(r"[¿¡ñáéíóú]", re.IGNORECASE)
SAMPLE_DAY = date(2026, 3, 1)


@dataclass(frozen=True)
class Body:
    text: str
    first_line: int
    language: str
    audience: str = "client"
    category: Category | None = None
    technique: Technique | None = None
    value: str | None = None


def check_text(text: str, path: Path | None, renderer: Renderer) -> list[Problem]:
    """A template file with a header, or a bare message body checked against a sample client."""
    if has_header(text):
        try:
            source = parse(text, path)
        except HeaderError as exc:
            return exc.problems
        meta = source.meta
        body = Body(
            source.body,
            source.body_line,
            meta.language,
            meta.audience,
            meta.category,
            meta.technique,
            meta.values[0] if meta.values else None,
        )
        if path is not None and path.parent.name != meta.category.value:
            folder = Problem(
                1, "header", f"`category: {meta.category}` but the folder is {path.parent.name}"
            )
            return [folder, *check_body(body, renderer)]
    else:
        body = Body(text, 1, "es" if SPANISH_HINT.search(text) else "en")
    return check_body(body, renderer)


def check_body(body: Body, renderer: Renderer) -> list[Problem]:
    problems = renderer.check(body.text, body.audience, body.first_line)
    if problems:
        return problems
    texts = []
    for context in _sample_contexts(body):
        try:
            texts.append(renderer.render(body.text, context).text)
        except RenderError as exc:
            problems.extend(Problem(body.first_line, p.kind, p.message) for p in exc.problems)
    seen: set[tuple[str, str]] = set()
    for text in texts:
        for finding in lint(
            text, language=body.language, category=body.category, technique=body.technique
        ):
            if (finding.rule, finding.excerpt) in seen:
                continue
            seen.add((finding.rule, finding.excerpt))
            line = _line_of(finding.excerpt, body)
            problems.append(
                Problem(line, "lint", f"{finding.rule}: “{finding.excerpt}”: {finding.reason}")
            )
    return sorted(problems, key=lambda problem: problem.line)


def _sample_contexts(body: Body) -> list[dict[str, str | int | None]]:
    """The body rendered with every optional value present, and with each one empty."""
    if body.audience == "staff":
        return [SAMPLE_STAFF, {**SAMPLE_STAFF, "alert_reason": None}]
    facts = SAMPLE_CLIENT.get(body.language, SAMPLE_CLIENT["en"])
    full = client_context(facts, body.value or "family", SAMPLE_DAY)
    full = {**full, "days_sober": full["days_sober"] or 45, "coordinator_name": "Jordan"}
    empty = {
        **full,
        "reason": "",
        "days_sober": None,
        "next_milestone": None,
        "coordinator_name": "",
        "care_team": "",
    }
    return [full, empty]


def _line_of(excerpt: str, body: Body) -> int:
    words = excerpt.split()[:3]
    for offset, line in enumerate(body.text.splitlines()):
        if words and all(word.lower() in line.lower() for word in words):
            return body.first_line + offset
    return body.first_line


def check_files(paths: Iterable[Path]) -> dict[Path, list[Problem]]:
    renderer = Renderer()
    results: dict[Path, list[Problem]] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            results[path] = [Problem(0, "file", f"cannot read it: {exc}")]
            continue
        results[path] = check_text(text, path, renderer)
    return results
