"""The alert inbox: open alerts ranked by severity and age, and acting on one."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
