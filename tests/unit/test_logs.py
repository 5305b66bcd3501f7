"""Logs: the text format as before; the JSON format one object a line, in UTC, whose exceptions
carry their type and where they were raised, never their message (which could quote a person)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from service.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
WORDS = "I relapsed last night at Marigold's"


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("service.bot", logging.ERROR, __file__, 7, message, args, exc_info)


def _raise_with_words() -> None:
    words = WORDS  # a traceback with locals would show it
    raise ValueError(f"could not store {words!r}")


def test_a_record_is_one_json_object_in_utc() -> None:
    line = JsonFormatter().format(_record("outbox %s lane=%s", 12, 0))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry.keys() == {"time", "level", "logger", "message"}
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "service.bot"
    assert entry["message"] == "outbox 12 lane=0"
    assert entry["time"].endswith("+00:00")


def test_an_exception_gives_its_type_and_frames_but_not_its_message() -> None:
    try:
        try:
            _raise_with_words()
        except ValueError as exc:
            raise RuntimeError(str(exc)) from exc
    except RuntimeError as exc:
        line = JsonFormatter().format(_record("update %s failed", 5, exc=exc))
    entry = json.loads(line)
    assert entry["exc_type"] == "RuntimeError"
    assert entry["exc_cause"] == "ValueError"
    assert entry["exc_frames"][-1].endswith(
        " in test_an_exception_gives_its_type_and_frames_but_not_its_message"
    )
    assert "Marigold" not in line
    assert "relapsed" not in line


def _run(log_format: str) -> str:
    code = (
        "import logging\n"
        "from service.logs import configure_logging\n"
        f"configure_logging('INFO', {log_format!r})\n"
        "logging.getLogger('service.x').info('tick %s: %s', 'plan', 3)\n"
        "logging.getLogger('service.x').debug('not at INFO')\n"
        "logging.getLogger('uvicorn').info('quieted')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stderr


def test_configured_as_json_every_line_is_an_object() -> None:
    lines = _run("json").splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "INFO",
        "service.x",
        "tick plan: 3",
    )


def test_configured_as_text_the_line_reads_as_before() -> None:
    lines = _run("text").splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(" INFO service.x tick plan: 3")
