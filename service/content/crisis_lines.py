"""Crisis resources as data: the lines and emergency number a crisis response gives, per country
and language, with the program's own on-call line first.

The shipped file (``templates/crisis_lines.toml``) holds the countries whose numbers come from a
checked source; a deployment may give a file of its own in the same format, read after it, to add
its country or its local lines. Everything is validated when loaded, and an unknown country is an
error then: a crisis message must never carry another country's numbers.

Pure: reads the files it is given, nothing else; no Jinja2, no database.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from service.content.library import Category, Technique
from service.content.lint import lint

SHIPPED = Path(__file__).resolve().parents[2] / "templates" / "crisis_lines.toml"
FALLBACK_LANGUAGE = "en"
PHONE = re.compile(r"\+?[0-9][0-9 ().-]*[0-9]|[0-9]")  # 911, 112, 555-0100, +1 (555) 010-0100
MAX_PHONE = 30
MAX_LINE = 200
COUNTRY = re.compile(r"[A-Z]{2}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
LANGUAGE_KEYS = {
    "oncall": True,  # required
    "separator": True,
    "last_separator": True,
    "pair_separator": False,
}
COUNTRY_KEYS = ("emergency_number", "lines", "local_lines")
SAMPLE_PHONE = "555-0100"


class CrisisLinesError(ValueError):
    """The crisis lines file is not usable; the message names the file and the key."""


@dataclass(frozen=True)
class Joining:
    """How a language lists lines and says the on-call line."""

    oncall: str  # with {phone}
    separator: str
    last_separator: str
    pair_separator: str

    def join(self, lines: Sequence[str]) -> str:
        if len(lines) <= 1:
            return "".join(lines)
        if len(lines) == 2:
            return self.pair_separator.join(lines)
        return self.separator.join(lines[:-1]) + self.last_separator + lines[-1]


@dataclass(frozen=True)
class Country:
    code: str
    emergency_number: str
    lines: Mapping[str, tuple[str, ...]]  # language -> lines
    local_lines: Mapping[str, tuple[str, ...]]  # language -> the deployment's local lines


@dataclass(frozen=True)
class CrisisLines:
    """One country's crisis resources, ready for messages in any language."""

    country: Country
    languages: Mapping[str, Joining]
    oncall: str | None = None  # the program's on-call phone number, offered first
    _variables: dict[str, dict[str, str]] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        country: str = "US",
        oncall: str | None = None,
    ) -> CrisisLines:
        """The shipped file, with the deployment's file at ``path`` (same format) merged over it,
        for ``country``; ``CrisisLinesError`` (a ``ValueError``) names what is wrong."""
        files = [SHIPPED] if path is None or path.resolve() == SHIPPED else [SHIPPED, path]
        languages, countries, origin = _merged(files)
        joinings = {
            code: _joining(table, code, origin[f"language.{code}"])
            for code, table in languages.items()
        }
        wanted = country.strip().upper()
        if wanted not in countries:
            known = ", ".join(sorted(countries)) or "none"
            raise CrisisLinesError(
                f"{' + '.join(map(str, files))}: no crisis lines for country `{country}` "
                f"(known: {known}); add a [country.{wanted}] table to your own crisis lines file "
                "(see the header of templates/crisis_lines.toml)"
            )
        chosen = _country(wanted, countries[wanted], joinings, origin[f"country.{wanted}"])
        phone = None
        if oncall is not None and oncall.strip():  # unset or blank: no on-call line
            phone = _phone(oncall, "the on-call phone (AFTERCARE_ONCALL_PHONE)", None)
        return cls(chosen, joinings, phone)

    def without_oncall(self) -> CrisisLines:
        """The same lines without the program's on-call line (for someone not in the program)."""
        return replace(self, oncall=None)

    def language_of(self, language: str) -> str:
        """The language the lines are given in: ``language`` if the country has lines in it,
        else English, else the country's first language."""
        for candidate in (language, FALLBACK_LANGUAGE):
            if candidate in self.country.lines:
                return candidate
        return next(iter(self.country.lines))

    def lines(self, language: str) -> list[str]:
        """Every line in order: the on-call line, the local lines, then the country's lines."""
        code = self.language_of(language)
        found = []
        if self.oncall:
            found.append(self.languages[code].oncall.replace("{phone}", self.oncall))
        found.extend(self.country.local_lines.get(code, ()))
        found.extend(self.country.lines.get(code, ()))
        return found

    def for_language(self, language: str) -> Mapping[str, str]:
        """The template variables ``crisis_lines`` and ``emergency_number`` for a message in
        ``language`` (worked out once per language: every composed message carries them)."""
        found = self._variables.get(language)
        if found is None:
            code = self.language_of(language)
            found = self._variables[language] = {
                "crisis_lines": self.languages[code].join(self.lines(language)),
                "emergency_number": self.country.emergency_number,
            }
        return found


@functools.cache
def shipped_lines() -> CrisisLines:
    """The shipped US lines without an on-call line: the default for a message whose sender
    gave none. Read once, on first use."""
    return CrisisLines.load()


def _merged(
    files: Sequence[Path],
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]], dict[str, Path]]:
    """The files' language and country tables, each file's keys over the earlier ones', and
    the last file that spoke of each table (for error messages)."""
    languages: dict[str, dict[str, str]] = {}
    countries: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    for file in files:
        raw = _read(file)
        for code, table in _tables(raw, "language", file, LANGUAGE, "a language code").items():
            languages.setdefault(code, {}).update(_language_table(table, code, file))
            origin[f"language.{code}"] = file
        for code, table in _tables(raw, "country", file, COUNTRY, "a country code").items():
            merged = countries.setdefault(code, {"lines": {}, "local_lines": {}})
            given = _country_table(table, code, file)
            for key in ("lines", "local_lines"):  # per language: a file's list replaces
                merged[key].update(given.pop(key, {}))
            merged.update(given)
            origin[f"country.{code}"] = file
    return languages, countries, origin


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrisisLinesError(f"{path}: cannot read the crisis lines file: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CrisisLinesError(f"{path}: not valid TOML: {exc}") from None


def _tables(
    raw: dict[str, Any], name: str, path: Path, code: re.Pattern[str], what: str
) -> dict[str, dict[str, Any]]:
    unknown = [key for key in raw if key not in ("language", "country")]
    if unknown:
        raise CrisisLinesError(
            f"{path}: unknown table `{unknown[0]}`; the file has [language.<code>] and "
            "[country.<CC>] tables"
        )
    tables = raw.get(name, {})
    if not isinstance(tables, dict):
        raise CrisisLinesError(f"{path}: `{name}` must be tables, e.g. [{name}.{_example(name)}]")
    for key, table in tables.items():
        if not code.fullmatch(key):
            raise CrisisLinesError(
                f"{path}: `{name}.{key}`: `{key}` is not {what}, e.g. [{name}.{_example(name)}]"
            )
        if not isinstance(table, dict):
            raise CrisisLinesError(f"{path}: `{name}.{key}` must be a table")
    return tables


def _example(name: str) -> str:
    return "US" if name == "country" else "en"


def _language_table(table: dict[str, Any], code: str, path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in table.items():
        where = f"language.{code}.{key}"
        if key not in LANGUAGE_KEYS:
            raise CrisisLinesError(
                f"{path}: unknown key `{where}`; known: {', '.join(LANGUAGE_KEYS)}"
            )
        if not isinstance(value, str) or (key == "oncall" and not value.strip()):
            raise CrisisLinesError(f"{path}: `{where}` must be text")
        if key == "oncall":
            rest = value.replace("{phone}", "")
            if value.count("{phone}") != 1 or "{" in rest or "}" in rest:
                raise CrisisLinesError(
                    f"{path}: `{where}` must hold {{phone}} once, where the number goes, e.g. "
                    '"call your program\'s on-call line at {phone}"'
                )
            _line(value.replace("{phone}", SAMPLE_PHONE), code, where, path)
        elif not value or "\n" in value or len(value) > 20:
            raise CrisisLinesError(f'{path}: `{where}` must be a short joining text like ", "')
        found[key] = value
    return found


def _joining(table: Mapping[str, str], code: str, path: Path) -> Joining:
    for key, required in LANGUAGE_KEYS.items():
        if required and key not in table:
            raise CrisisLinesError(f"{path}: `language.{code}` needs `{key}`")
    return Joining(
        table["oncall"],
        table["separator"],
        table["last_separator"],
        table.get("pair_separator", table["last_separator"]),
    )


def _country_table(table: dict[str, Any], code: str, path: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in table.items():
        where = f"country.{code}.{key}"
        if key not in COUNTRY_KEYS:
            raise CrisisLinesError(
                f"{path}: unknown key `{where}`; known: {', '.join(COUNTRY_KEYS)}"
            )
        if key == "emergency_number":
            found[key] = _phone(value, f"`{where}`", path)
            continue
        if not isinstance(value, dict):
            raise CrisisLinesError(
                f'{path}: `{where}` must give lines per language, e.g. {key}.en = ["..."]'
            )
        found[key] = {}
        for language, lines in value.items():
            at = f"{where}.{language}"
            if not LANGUAGE.fullmatch(language):
                raise CrisisLinesError(f"{path}: `{at}`: `{language}` is not a language code")
            if not isinstance(lines, list) or (key == "lines" and not lines):
                raise CrisisLinesError(f'{path}: `{at}` must be a list of lines, ["...", ...]')
            found[key][language] = tuple(
                _line(line, language, f"{at}[{index}]", path) for index, line in enumerate(lines)
            )
    return found


def _country(
    code: str, table: dict[str, Any], languages: Mapping[str, Joining], path: Path
) -> Country:
    if "emergency_number" not in table:
        raise CrisisLinesError(f"{path}: `country.{code}` needs `emergency_number`")
    lines: dict[str, tuple[str, ...]] = table["lines"]
    local: dict[str, tuple[str, ...]] = table["local_lines"]
    if not lines:
        raise CrisisLinesError(
            f"{path}: `country.{code}` needs lines in at least one language, e.g. "
            'lines.en = ["call or text ..."]'
        )
    for key, by_language in (("lines", lines), ("local_lines", local)):
        for language in by_language:
            if language not in languages:
                raise CrisisLinesError(
                    f"{path}: `country.{code}.{key}.{language}` has no [language.{language}] "
                    "table saying how to join its lines and the on-call line"
                )
    for language in local:
        if language not in lines:
            raise CrisisLinesError(
                f"{path}: `country.{code}.local_lines.{language}` has no `lines.{language}` "
                "to go with; give the country's lines in that language too"
            )
    return Country(code, table["emergency_number"], lines, local)


def _line(value: object, language: str, where: str, path: Path) -> str:
    if not isinstance(value, str):
        raise CrisisLinesError(f"{path}: `{where}` must be text")
    line = value.strip()
    problem = ""
    if not line:
        problem = "is empty"
    elif len(line) > MAX_LINE:
        problem = f"is {len(line)} characters; a line keeps to {MAX_LINE}"
    elif "\n" in line:
        problem = "spans lines; a line sits inside one sentence"
    elif line[-1] in ".;,:!?":
        problem = "ends with punctuation; a line sits inside a sentence, so leave it off"
    elif re.search(r"[<>]", line):
        problem = "has < or >; lines are plain text, not HTML"
    elif "{" in line or "}" in line:
        problem = "has { or }; lines are plain text, not a template"
    else:
        findings = lint(
            line,
            language=language,
            category=Category.crisis_response,
            technique=Technique.information,
        )
        if findings:
            found = findings[0]
            problem = f"fails the MI lint: {found.rule}: “{found.excerpt}”: {found.reason}"
    if problem:
        raise CrisisLinesError(f"{path}: `{where}` {problem}")
    return line


def _phone(value: object, what: str, path: Path | None) -> str:
    where = f"{path}: " if path is not None else ""
    if not isinstance(value, str):
        raise CrisisLinesError(f'{where}{what} must be text, e.g. "911"')
    phone = value.strip()
    if len(phone) > MAX_PHONE or not PHONE.fullmatch(phone):
        raise CrisisLinesError(
            f"{where}{what} `{value}` is not a phone number: digits, with spaces, +, -, dots "
            "or brackets, e.g. 911 or 555-0100"
        )
    return phone
