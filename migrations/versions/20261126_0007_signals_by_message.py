"""Signals by message: retention and erasure find a message's signals without a scan

Built CONCURRENTLY, outside the migration's transaction, so that messages keep being recorded
while a large table is indexed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 11:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_signals_inbound_message_id",
            "signals",
            ["inbound_message_id"],
            unique=False,
            postgresql_where=sa.text("inbound_message_id IS NOT NULL"),
            postgresql_concurrently=True,
            if_not_exists=True,  # a build interrupted before is built again
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_signals_inbound_message_id", table_name="signals", postgresql_concurrently=True
        )
