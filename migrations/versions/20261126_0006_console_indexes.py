"""Console indexes: a client's messages by time, sent check-ins for response rates

Both are built CONCURRENTLY (outside the migration's transaction), so that the bot and webhook
keep writing messages and check-ins while a large database is indexed. The new inbound index
leads with client_id, so it replaces the old one on client_id alone, which is dropped after.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:50:12.512742
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_checkins_client_sent",
            "checkins",
            ["client_id", "sent_at"],
            unique=False,
            postgresql_include=["local_date", "answered_at", "status"],
            postgresql_where=sa.text("sent_at IS NOT NULL"),
            postgresql_concurrently=True,
            if_not_exists=True,  # a build interrupted before is built again
        )
        op.create_index(
            "ix_inbound_messages_client_received",
            "inbound_messages",
            ["client_id", "received_at"],
            unique=False,
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "ix_inbound_messages_client_id",
            table_name="inbound_messages",
            postgresql_concurrently=True,
            if_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_inbound_messages_client_id",
            "inbound_messages",
            ["client_id"],
            unique=False,
            postgresql_concurrently=True,
        )
        op.drop_index(
            "ix_inbound_messages_client_received",
            table_name="inbound_messages",
            postgresql_concurrently=True,
        )
        op.drop_index(
            "ix_checkins_client_sent", table_name="checkins", postgresql_concurrently=True
        )
