"""Engagement: response rate by week since discharge, client states, alerts, time to acknowledge."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
