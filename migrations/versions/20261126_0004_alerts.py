"""Alerts: delivered and callback_requested events, the ladder's start, staff on call

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 08:12:06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # "callback_requested" is longer than the 16 characters the kinds had.
    op.alter_column(
        "alert_events",
        "kind",
        existing_type=sa.VARCHAR(length=16),
        type_=sa.VARCHAR(length=18),
        existing_nullable=False,
    )
    op.add_column(
        "alerts", sa.Column("escalation_started_at", sa.DateTime(timezone=True), nullable=True)
    )
    # Open alerts keep climbing from when they opened.
    op.execute("UPDATE alerts SET escalation_started_at = opened_at WHERE status <> 'resolved'")
    op.add_column(
        "staff_members",
        sa.Column("on_call", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.alter_column("staff_members", "on_call", server_default=None)


def downgrade() -> None:
    op.drop_column("staff_members", "on_call")
    op.drop_column("alerts", "escalation_started_at")
    op.execute("UPDATE alert_events SET kind = 'acknowledged' WHERE kind = 'callback_requested'")
    op.execute("DELETE FROM alert_events WHERE kind = 'delivered'")
    op.alter_column(
        "alert_events",
        "kind",
        existing_type=sa.VARCHAR(length=18),
        type_=sa.VARCHAR(length=16),
        existing_nullable=False,
    )
