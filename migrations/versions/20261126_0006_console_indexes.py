"""Console indexes: a client's messages by time, sent check-ins for response rates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:50:12.512742
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may refer to its column types)
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_checkins_client_sent",
        "checkins",
        ["client_id", "sent_at"],
        unique=False,
        postgresql_include=["local_date", "answered_at", "status"],
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )
    op.drop_index(op.f("ix_inbound_messages_client_id"), table_name="inbound_messages")
    op.create_index(
        "ix_inbound_messages_client_received",
        "inbound_messages",
        ["client_id", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_client_received", table_name="inbound_messages")
    op.create_index(
        op.f("ix_inbound_messages_client_id"), "inbound_messages", ["client_id"], unique=False
    )
    op.drop_index(
        "ix_checkins_client_sent",
        table_name="checkins",
        postgresql_include=["local_date", "answered_at", "status"],
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )
