"""chat channels: alerts to the staff's group chat (WeCom, DingTalk, Feishu, a JSON webhook)

Revision ID: 0107
Revises: 0106
Create Date: 2026-12-03

Issue 17 item 5. ``chat_channels`` are the robots an admin set up (the URL and the signing
secret are kept to send, never shown back); ``chat_routes`` say which alert kinds go to which
channel; ``chat_notices`` is the outbox the raising path inserts into (inside the ingest's
transaction, no network I/O); ``chat_deliveries`` are the messages the background worker folds
the notices into (one a minute per channel and kind), sends, retries and, after the last
attempt, lists as failed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "chat_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_chat_channels_name")),
    )
    op.create_table(
        "chat_routes",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "kind", name=op.f("pk_chat_routes")),
    )
    op.create_table(
        "chat_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=True),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_notices")),
    )
    op.create_table(
        "chat_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("first_at", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_deliveries")),
    )
    op.create_index("ix_chat_deliveries_due", "chat_deliveries", ["state", "next_at"])
    op.create_index("ix_chat_deliveries_gather", "chat_deliveries", ["channel_id", "kind", "state"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_chat_deliveries_gather", table_name="chat_deliveries")
    op.drop_index("ix_chat_deliveries_due", table_name="chat_deliveries")
    op.drop_table("chat_deliveries")
    op.drop_table("chat_notices")
    op.drop_table("chat_routes")
    op.drop_table("chat_channels")
