"""Scheduling: cadence modes and why they change, one scheduled touch a day, replies awaited

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cadence_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("mode_from", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("mode_to", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column(
            "reason",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_cadence_changes_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_members.id"],
            name=op.f("fk_cadence_changes_staff_member_id_staff_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadence_changes")),
    )
    op.create_index(
        op.f("ix_cadence_changes_client_id"), "cadence_changes", ["client_id"], unique=False
    )
    op.alter_column(
        "checkins",
        "kind",
        existing_type=sa.VARCHAR(length=16),
        type_=sa.VARCHAR(length=17),
        existing_nullable=False,
    )
    op.create_index(
        "ix_checkins_awaiting_reply",
        "checkins",
        ["sent_at"],
        unique=False,
        postgresql_where=sa.text("status = 'sent'"),
    )
    op.create_index(
        "uq_checkins_one_touch_a_day",
        "checkins",
        ["client_id", "local_date"],
        unique=True,
        postgresql_where=sa.text(
            "kind IN ('open_question', 'scale', 'weekly', 'affirmation', 'self_efficacy', 'values_reflection', 'change_talk', 'milestone')"
        ),
    )
    op.add_column(
        "clients",
        sa.Column(
            "cadence_mode",
            sa.VARCHAR(length=16),
            server_default="normal",
            nullable=False,
        ),
    )
    op.add_column("clients", sa.Column("cadence_mode_until", sa.Date(), nullable=True))
    op.add_column("clients", sa.Column("last_touch_on", sa.Date(), nullable=True))
    op.add_column("clients", sa.Column("touches", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "clients", sa.Column("missed_in_row", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "clients", sa.Column("answered_in_row", sa.Integer(), server_default="0", nullable=False)
    )
    op.drop_index("ix_clients_next_checkin_at", table_name="clients")  # ix_clients_due serves
    op.create_index(
        "ix_clients_due",
        "clients",
        [sa.text("next_checkin_at NULLS FIRST")],
        unique=False,
        postgresql_where=sa.text("state = 'active'"),
    )
    op.drop_index("ix_outbox_messages_client_id", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_client_history",
        "outbox_messages",
        ["client_id", "created_at"],
        unique=False,
    )
    # The defaults only fill the rows already there; the application sets these columns.
    for column in ("cadence_mode", "touches", "missed_in_row", "answered_in_row"):
        op.alter_column("clients", column, server_default=None)


def downgrade() -> None:
    op.create_index("ix_clients_next_checkin_at", "clients", ["next_checkin_at"], unique=False)
    op.drop_index("ix_outbox_messages_client_history", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_client_id", "outbox_messages", ["client_id"], unique=False)
    op.drop_index(
        "ix_clients_due", table_name="clients", postgresql_where=sa.text("state = 'active'")
    )
    op.drop_column("clients", "answered_in_row")
    op.drop_column("clients", "missed_in_row")
    op.drop_column("clients", "touches")
    op.drop_column("clients", "last_touch_on")
    op.drop_column("clients", "cadence_mode_until")
    op.drop_column("clients", "cadence_mode")
    op.drop_index(
        "uq_checkins_one_touch_a_day",
        table_name="checkins",
        postgresql_where=sa.text(
            "kind IN ('open_question', 'scale', 'weekly', 'affirmation', 'self_efficacy', 'values_reflection', 'change_talk', 'milestone')"
        ),
    )
    op.drop_index(
        "ix_checkins_awaiting_reply",
        table_name="checkins",
        postgresql_where=sa.text("status = 'sent'"),
    )
    op.alter_column(
        "checkins",
        "kind",
        existing_type=sa.VARCHAR(length=17),
        type_=sa.VARCHAR(length=16),
        existing_nullable=False,
    )
    op.drop_index(op.f("ix_cadence_changes_client_id"), table_name="cadence_changes")
    op.drop_table("cadence_changes")
