"""Message templates (admins): browse, edit with a live preview and checks, publish, roll back."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
