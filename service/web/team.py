"""The care team: staff, roles, the on-call rota the escalation ladder uses, the alert chat."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
