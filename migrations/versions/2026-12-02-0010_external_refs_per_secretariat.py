"""external references unique per owning secretariat

A secretariat's external reference (source, id) no longer blocks another secretariat from
using the same one: the unique indexes of requests, offers and meetings take their
`secretariat_code`, and that of activities their `lead_secretariat_code` (an activity's
reference belongs to its lead).

Existing data: every row keeps its reference. References were unique per resource type
before, so they are unique per secretariat as well and no row needs rewriting; the new
indexes are built over the same rows. Downgrading makes references unique per resource
type again: where two secretariats came to share one, the oldest object keeps it and the
others lose it (their `external_ref` becomes null, and their next by-reference write
creates a new object), since the old index could not be built otherwise.

Revision ID: ownref1
Revises: cal2
Create Date: 2026-12-02 00:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ownref1"
down_revision: str | None = "cal2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the column naming the secretariat a reference belongs to
OWNERS = {
    "activity": "lead_secretariat_code",
    "meeting": "secretariat_code",
    "workload_request": "secretariat_code",
    "capacity_offer": "secretariat_code",
}
WHERE = sa.text("external_source IS NOT NULL")


def upgrade() -> None:
    for table, owner in OWNERS.items():
        op.drop_index(f"uq_{table}_external_ref", table_name=table, postgresql_where=WHERE)
        op.create_index(
            f"uq_{table}_external_ref",
            table,
            [owner, "external_source", "external_id"],
            unique=True,
            postgresql_where=WHERE,
        )


def downgrade() -> None:
    for table in OWNERS:
        op.execute(
            f"""
            UPDATE {table} SET external_source = NULL, external_id = NULL
            WHERE id IN (
                SELECT id FROM (
                    SELECT id, row_number() OVER (
                        PARTITION BY external_source, external_id ORDER BY created_at, id
                    ) AS n
                    FROM {table} WHERE external_source IS NOT NULL
                ) ranked
                WHERE n > 1
            )
            """
        )
        op.drop_index(f"uq_{table}_external_ref", table_name=table, postgresql_where=WHERE)
        op.create_index(
            f"uq_{table}_external_ref",
            table,
            ["external_source", "external_id"],
            unique=True,
            postgresql_where=WHERE,
        )
