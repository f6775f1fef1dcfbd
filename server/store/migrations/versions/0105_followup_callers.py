"""follow-up callers: the zones in which a staff account may call residents under observation

Revision ID: 0105
Revises: 0104
Create Date: 2026-12-03

Issue 17 item 1. An admin marks a staff account as a follow-up caller for some of its zones; in
those zones the caller sees the full phone numbers of the residents on the call list (each
day's first view and each export audited with its purpose). One row per (account, zone); the
rows leave with the account (ON DELETE CASCADE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0105"
down_revision = "0104"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "followup_callers",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_followup_callers_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zones.id"],
            name=op.f("fk_followup_callers_zone_id_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "zone_id", name=op.f("pk_followup_callers")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("followup_callers")
