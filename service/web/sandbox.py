"""The sandbox page: chat as an alumnus and as a coordinator in the browser, without Telegram."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
