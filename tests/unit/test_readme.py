"""The README documents every setting and both quick-start commands."""

from __future__ import annotations

from pathlib import Path

from service.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        f"AFTERCARE_{name.upper()}"
        for name in Settings.model_fields
        if f"| `AFTERCARE_{name.upper()}` |" not in README
    ]
    assert missing == []


def test_the_quick_start_is_the_two_make_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.splitlines()]
    assert [command for command in commands if command.startswith("make ")] == [
        "make run",
        "make test",
    ]
