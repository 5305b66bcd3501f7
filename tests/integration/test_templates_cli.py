"""`aftercare templates check` and `preview`, run as an author runs them: a separate process, no
database, no AFTERCARE_* configuration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "templates" / "messages"
SUMMARY = re.compile(r"^(\d+) template\(s\) checked, (\d+) problem\(s\)\.$")


def aftercare(*args: str | Path) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    return subprocess.run(
        [sys.executable, "-m", "service", *map(str, args)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def summary(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    match = SUMMARY.match(result.stdout.splitlines()[-1])
    assert match, result.stdout
    return int(match[1]), int(match[2])


def template(
    folder: Path, category: str, template_id: str, body: str, technique: str = "open_question"
) -> Path:
    path = folder / category / f"{template_id}.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "{#\n"
        f"id: {template_id}\n"
        f"category: {category}\n"
        f"technique: {technique}\n"
        "values: [any]\n"
        "stages: [any]\n"
        "language: en\n"
        "#}\n" + body,
        encoding="utf-8",
    )
    return path


def bare(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def test_the_seed_library_passes_every_check() -> None:
    files = sum(1 for _ in SEED.rglob("*.j2"))
    assert files >= 600
    result = aftercare("templates", "check", SEED)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.splitlines() == [f"{files} template(s) checked, 0 problem(s)."]
    assert result.stderr == ""


def test_good_templates_in_nested_folders_pass(tmp_path: Path) -> None:
    template(tmp_path, "checkin_opener", "checkin_opener-t1", "What's on your mind today?\n")
    template(
        tmp_path / "more" / "deeper",
        "affirmation",
        "affirmation-t1",
        "You kept going on a hard day, {{ first_name }}.\n",
        technique="affirmation",
    )
    bare(tmp_path / "notes.txt", "You should not be read: only .j2 files are templates.\n")
    result = aftercare("templates", "check", tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == ["2 template(s) checked, 0 problem(s)."]


def test_each_problem_is_reported_at_its_file_and_line(tmp_path: Path) -> None:
    unknown = template(tmp_path, "affirmation", "affirmation-t2", "You showed up.\n")
    unknown.write_text(
        unknown.read_text().replace("category: affirmation", "category: pep_talk"),
        encoding="utf-8",
    )
    lecture = template(
        tmp_path,
        "values_reflection",
        "values_reflection-t1",
        "It sounds like work has been heavy, {{ first_name }}.\nYou should take a day off.\n",
        technique="reflection",
    )
    label = bare(
        tmp_path / "drafts" / "nota.j2", "¡Hola, {{ first_name }}!\nYa no eres un borracho.\n"
    )
    ssti = bare(
        tmp_path / "drafts" / "deeper" / "ssti.j2",
        "Hi {{ cycler.__init__.__globals__.os.popen('id').read() }}\n",
    )

    result = aftercare("templates", "check", tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert summary(result)[0] == 4
    assert summary(result)[1] == len(lines) - 1
    # The header keys start on line 2: `category` is the header's third line.
    assert any(
        line.startswith(f"{unknown}:3: header: `category: pep_talk` is not one of")
        for line in lines
    )
    # The body starts on line 9, after the eight header lines; the lecture is its second line.
    assert any(line.startswith(f"{lecture}:10: lint: directive: “You should”") for line in lines)
    assert not any(line.startswith(f"{lecture}:9:") for line in lines)
    # A file without a header is a bare body; Spanish, so Spanish labels count.
    assert any(line.startswith(f"{label}:2: lint: label: “borracho”") for line in lines)
    # Found two folders down, refused before anything renders.
    ssti_lines = [line for line in lines if line.startswith(f"{ssti}:")]
    assert ssti_lines
    assert all(line.startswith(f"{ssti}:1: ") for line in ssti_lines)
    assert any(f"{ssti}:1: unsafe: " in line for line in ssti_lines)
    assert "uid=" not in result.stdout


def test_a_path_that_does_not_exist_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    result = aftercare("templates", "check", SEED, missing)
    assert result.returncode == 1
    assert result.stderr == f"aftercare: No such file or folder: {missing}\n"
    assert result.stdout == ""


def test_the_preview_is_a_month_of_spanish_messages_with_no_repeats() -> None:
    start = date(2026, 12, 1)
    result = aftercare(
        "templates",
        "preview",
        "--days",
        "30",
        "--values",
        "family",
        "--lang",
        "es",
        "--start",
        start.isoformat(),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(items) >= 20
    for item in items:
        assert {"on", "category", "template_id", "text", "reason"} <= set(item)
        assert start <= date.fromisoformat(item["on"]) < start + timedelta(days=30)
        assert item["text"].strip()
        assert item["reason"]["language"] == "es"
        assert SPANISH.search(item["text"]), item["text"]
        assert not ENGLISH.search(item["text"]), item["text"]
    weekly = [item for item in items if item["category"] == "weekly"]
    assert 3 <= len(weekly) <= 5  # the structured check-in, weekly: the bot's own questions
    from_library = [item for item in items if item["category"] != "weekly"]
    for item in from_library:
        assert (SEED / "es" / item["category"] / f"{item['template_id']}.j2").is_file()
    ids = [item["template_id"] for item in from_library]
    assert len(ids) == len(set(ids))
    days = [item["on"] for item in items]
    assert days == sorted(days)


SPANISH = re.compile(
    r"\b(?:que|qué|de|tu|te|el|la|los|las|y|es|con|para|lo|un|una|por|más|hoy|cómo)\b",
    re.IGNORECASE,
)
ENGLISH = re.compile(r"\b(?:the|you|your|and|is|what|how|it|to|of)\b", re.IGNORECASE)
