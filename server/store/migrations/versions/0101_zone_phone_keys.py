"""phone-tag keys per zone (issue 14, design note)

Revision ID: 0101
Revises: 0004
Create Date: 2026-12-03

A phone-tag key with a zone tags the passes of that zone alone and goes only to that zone's
gates; the keys without one (every key before this revision) are the site's, for passes valid in
several zones, and go to every gate. A stolen gate then gives away the last four digits of its own
zone's pass holders (and of multi-zone holders), not the whole site's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("phone_keys") as batch:
        batch.add_column(sa.Column("zone_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("phone_keys") as batch:
        batch.drop_column("zone_id")
