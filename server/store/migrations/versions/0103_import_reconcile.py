"""import reconcile: people of the same name in one flat, what each import wrote, erased people

Revision ID: 0103
Revises: 0102
Create Date: 2026-12-03

Issue 16 items 1 and 3. Two people of the same name in one flat with different phones are two
residents, so (household, name) is no longer unique (an index keeps the lookups fast). Each
resident an import wrote has a baseline row: the values that import wrote, so the next import
tells a field edited in the UI (a conflict, never overwritten) from one changed in the file. An
erased resident leaves a keyed fingerprint of (address, name) — an HMAC under a server secret,
no name and no address — so a re-import does not re-create them unless the operator confirms.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_residents_household_id_name", type_="unique")
        batch_op.create_index("ix_residents_household_id_name", ["household_id", "name"])
    op.create_table(
        "import_baselines",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("observed", sa.Boolean(), nullable=False),
        sa.Column("observation_start", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_import_baselines_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_import_baselines")),
    )
    op.create_table(
        "erased_fingerprints",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_erased_fingerprints")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("erased_fingerprints")
    op.drop_table("import_baselines")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_household_id_name")
        batch_op.create_unique_constraint(
            "uq_residents_household_id_name", ["household_id", "name"]
        )
