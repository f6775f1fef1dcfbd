"""mqtt link: event details, ingest state, gate status, gaps, dead letters, alerts, commands

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Issue 6. ``events`` gains the rest of the GateEvent, a flag for suspicious events, a 64-bit
``seq`` (a gate reseeds at a time in ms after a quarantined store) and a partial unique index on
(gate, seq) over unflagged events; the link's own tables are created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_EVENT_COLUMNS = [
    sa.Column("boot_id", sa.String(length=32), nullable=True),
    sa.Column("clock_trusted", sa.Boolean(), nullable=True),
    sa.Column("lane", sa.String(length=8), nullable=True),
    sa.Column("offline", sa.Boolean(), nullable=True),
    sa.Column("mode", sa.String(length=16), nullable=True),
    sa.Column("alarm", sa.String(length=32), nullable=True),
    sa.Column("holder_kind", sa.String(length=8), nullable=True),  # GateEvent.pass_kind
    sa.Column("operator", sa.String(length=64), nullable=True),
    sa.Column("note", sa.String(length=200), nullable=True),
    sa.Column("flag", sa.String(length=16), nullable=True),
]


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        for column in _EVENT_COLUMNS:
            batch_op.add_column(column)
        batch_op.alter_column("seq", type_=sa.BigInteger(), existing_nullable=False)
        batch_op.create_index("ix_events_gate_at_ms", ["gate", "at_ms"], unique=False)
        batch_op.create_index(
            "uq_events_gate_seq",
            ["gate", "seq"],
            unique=True,
            sqlite_where=sa.text("flag IS NULL"),
            postgresql_where=sa.text("flag IS NULL"),
        )
    _ingest_tables()
    _alert_and_command_tables()
    _publishing_tables()


def _ingest_tables() -> None:
    op.create_table(
        "gate_ingest",
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("acked_seq", sa.BigInteger(), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("gate", name=op.f("pk_gate_ingest")),
    )
    op.create_table(
        "gate_status",
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.Integer(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("boot_id", sa.String(length=32), nullable=False),
        sa.Column("software", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("clock_trusted", sa.Boolean(), nullable=False),
        sa.Column("outbox_depth", sa.BigInteger(), nullable=False),
        sa.Column("outbox_floor_seq", sa.BigInteger(), nullable=True),
        sa.Column("manifest_seq", sa.BigInteger(), nullable=True),
        sa.Column("revocation_seq", sa.BigInteger(), nullable=True),
        sa.Column("config_version", sa.BigInteger(), nullable=True),
        sa.Column("devices", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("gate", name=op.f("pk_gate_status")),
    )
    op.create_table(
        "seq_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("to_seq", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seq_gaps")),
    )
    op.create_index(op.f("ix_seq_gaps_gate"), "seq_gaps", ["gate"], unique=False)
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(
        op.f("ix_dead_letters_received_at"), "dead_letters", ["received_at"], unique=False
    )


def _alert_and_command_tables() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("first_at", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.Integer(), nullable=True),
        sa.Column("acked_at", sa.Integer(), nullable=True),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        sa.Column("ack_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_gate"), "alerts", ["gate"], unique=False)
    op.create_index(op.f("ix_alerts_first_at"), "alerts", ["first_at"], unique=False)
    op.create_index(
        "ix_alerts_open", "alerts", ["kind", "gate", "subject", "acked_at"], unique=False
    )
    op.create_table(
        "commands",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("result_at", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_commands")),
    )
    op.create_index(op.f("ix_commands_gate"), "commands", ["gate"], unique=False)
    op.create_index(op.f("ix_commands_issued_at"), "commands", ["issued_at"], unique=False)


def _publishing_tables() -> None:
    op.create_table(
        "gate_configs",
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("gate", name=op.f("pk_gate_configs")),
    )
    op.create_table(
        "broker_accounts",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("hash_line", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_broker_accounts")),
    )
    op.create_table(
        "link_published",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("published_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_link_published")),
    )


def downgrade() -> None:
    """Revert this revision."""
    for table in (
        "link_published",
        "broker_accounts",
        "gate_configs",
        "commands",
        "alerts",
        "dead_letters",
        "seq_gaps",
        "gate_status",
        "gate_ingest",
    ):
        op.drop_table(table)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("uq_events_gate_seq")
        batch_op.drop_index("ix_events_gate_at_ms")
        batch_op.alter_column("seq", type_=sa.Integer(), existing_nullable=False)
        for column in reversed(_EVENT_COLUMNS):
            batch_op.drop_column(column.name)
