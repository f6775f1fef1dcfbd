"""incidents: what staff did about an alert, and refused checks recorded at the console

Revision ID: 0106
Revises: 0105
Create Date: 2026-12-03

Issue 17 items 2 and 3. ``alert_actions``: one row per thing a staff member did about an alert
from its incident page (a call to the household, revoke and reissue, an unlock after an ID
check, the outcome that resolved it: 劝返, 批评教育, 误报), deleted with the alert.
``refusals``: someone refused the check at a lane (拒绝检测/劝返): the lane, its zone, the
household (from the lane's last scan's pass, or picked from a list), the pass and the scan
when known, who recorded it and a note.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0106"
down_revision = "0105"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_actions_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_actions")),
    )
    op.create_index("ix_alert_actions_alert_id", "alert_actions", ["alert_id"])
    op.create_table(
        "refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("pass_ref", sa.String(length=16), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_refusals_household_id_households"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refusals")),
    )
    op.create_index("ix_refusals_at", "refusals", ["at"])
    op.create_index("ix_refusals_household_id", "refusals", ["household_id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_refusals_household_id", table_name="refusals")
    op.drop_index("ix_refusals_at", table_name="refusals")
    op.drop_table("refusals")
    op.drop_index("ix_alert_actions_alert_id", table_name="alert_actions")
    op.drop_table("alert_actions")
