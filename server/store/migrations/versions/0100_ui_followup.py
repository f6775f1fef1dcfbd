"""home-observation follow-up calls (staff UI, issue 7)

Revision ID: 0100
Revises: 0001
Create Date: 2026-12-01

One row per phone call to a resident under home observation: who called, when, whether the
resident was reached, the temperature they reported, their symptoms and a note. Health data:
deleted with the resident (ON DELETE CASCADE) and by the retention job.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "followup_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_followup_calls_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_calls")),
    )
    with op.batch_alter_table("followup_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_followup_calls_resident_id_at"), ["resident_id", "at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("followup_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_calls_resident_id_at"))
    op.drop_table("followup_calls")
