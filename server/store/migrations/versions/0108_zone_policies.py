"""zone policies: a zone's decision-policy overrides, applied under its lanes' own

Revision ID: 0108
Revises: 0107
Create Date: 2026-12-03

Issue 17 item 6. A lane's signed config carries the site's default policy, then its zone's
overrides (this table), then the lane's own overrides (``gate_configs.policy``). Deleting a
zone deletes its overrides.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0108"
down_revision = "0107"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "zone_policies",
        sa.Column("zone_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zones.id"],
            name=op.f("fk_zone_policies_zone_id_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("zone_id", name=op.f("pk_zone_policies")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("zone_policies")
