"""card pins: the keyed hash of the card PIN of each pass of a resident without a phone

Revision ID: 0104
Revises: 0103
Create Date: 2026-12-03

Issue 16 item 6. A resident without a phone gets a random 4-digit card PIN, printed once on the
tear-off strip of their card; their pass carries its keyed tag (holder proof 1) as other passes
carry their phone's. The server keeps a keyed hash of the PIN (``pin_hash``, HMAC-SHA256 under
the phone-tag key ``key_version``) and the PIN itself only until the card is printed
(``pending``, wiped by the print, which sets ``printed_at``); printing the card again draws a
new PIN and reissues the pass.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0104"
down_revision = "0103"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "card_pins",
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("pin_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("pending", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("printed_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_card_pins")),
    )
    op.create_index("ix_card_pins_resident_id", "card_pins", ["resident_id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_card_pins_resident_id", table_name="card_pins")
    op.drop_table("card_pins")
