"""a proposal may stand beside an accepted allocation of the same pair

matching.md lets the optimum propose more hours for a pair that already has accepted hours:
the unique index on live pairs now covers proposals only (one proposal per pair; accepted
allocations of a pair may be several).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 17:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("uq_allocation_live_pair", table_name="allocation")
    op.create_index(
        "uq_allocation_proposed_pair",
        "allocation",
        ["request_id", "offer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'proposed'"),
    )


def downgrade() -> None:
    op.drop_index("uq_allocation_proposed_pair", table_name="allocation")
    op.create_index(
        "uq_allocation_live_pair",
        "allocation",
        ["request_id", "offer_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('proposed', 'accepted')"),
    )
