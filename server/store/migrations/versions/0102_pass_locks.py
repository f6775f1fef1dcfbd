"""pass locks: wrong phone digits at one lane lock the pass at every lane, through the server

Revision ID: 0102
Revises: 0101
Create Date: 2026-12-03

Issue 14 item 1. A gate that locks a pass after wrong phone digits reports it in its event; the
server records the lock here and publishes it in the signed revocation list, so every lane
refuses the pass (gates no longer take locks from each other's events). Staff clear a lock
(``cleared_at``, ``cleared_by``, ``clear_note``); the list then carries the unlock.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "pass_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("locked_at", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.Integer(), nullable=False),
        sa.Column("cleared_at", sa.Integer(), nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.Column("clear_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pass_locks")),
    )
    op.create_index("ix_pass_locks_ref_cleared_at", "pass_locks", ["ref", "cleared_at"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_pass_locks_ref_cleared_at", table_name="pass_locks")
    op.drop_table("pass_locks")
