"""drop the GIN index on taxon_discrepancy.name_keys

The report finds the entries a joint activity covers by a hash join of the entries' names
with the activities' names; the planner never chose this index for an overlap with hundreds
of names, and every import paid for rebuilding it.

Revision ID: taxa02
Revises: 0008_taxa
Create Date: 2026-12-02 00:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "taxa02"
down_revision: str | None = "0008_taxa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_taxon_discrepancy_name_keys", table_name="taxon_discrepancy")


def downgrade() -> None:
    op.create_index(
        "ix_taxon_discrepancy_name_keys",
        "taxon_discrepancy",
        ["name_keys"],
        unique=False,
        postgresql_using="gin",
    )
