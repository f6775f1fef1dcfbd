"""refused events: a dead letter keeps its seq, a gate's status its dead-letter count

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-10

Issue 14 item 6. ``dead_letters`` gains the refused event's ``seq`` (null for a message that is
no event or names none) and an index on (gate, seq): the contiguous ack walks through refused
seqs as through stored ones and the gate's ack names them. ``gate_status`` gains
``dead_letters``, how many events the gate itself holds as dead letters.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_dead_letters_gate_seq", ["gate", "seq"], unique=False)
    with op.batch_alter_table("gate_status", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dead_letters", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("gate_status", schema=None) as batch_op:
        batch_op.drop_column("dead_letters")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letters_gate_seq")
        batch_op.drop_column("seq")
