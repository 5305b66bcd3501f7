"""Clients: the list with search and filters, a client's page, and the actions on a client."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
