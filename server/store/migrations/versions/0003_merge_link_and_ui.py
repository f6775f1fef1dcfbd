"""merge the MQTT link (0002) and the staff UI's follow-up calls (0100)

Revision ID: 0003
Revises: 0002, 0100
Create Date: 2026-11-29

Both branches started from 0001 and touch different tables; this revision only joins them so
the schema has one head again.
"""

from __future__ import annotations

revision = "0003"
down_revision = ("0002", "0100")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to apply: both parents did the work."""


def downgrade() -> None:
    """Nothing to revert: both parents undo their own work."""
