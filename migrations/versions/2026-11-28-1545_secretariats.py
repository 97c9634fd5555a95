"""secretariats, with the two founding ones

Revision ID: 0001
Revises:
Create Date: 2026-11-28 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "secretariat",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("duty_station", sa.String(length=6), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "code ~ '^[A-Z][A-Z0-9-]{1,15}$'", name=op.f("ck_secretariat_code_format")
        ),
        sa.CheckConstraint(
            "duty_station ~ '^[A-Z]{2} [A-Z2-9]{3}$'",
            name=op.f("ck_secretariat_duty_station_locode"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_secretariat")),
    )
    op.bulk_insert(
        table,
        [
            {
                "code": "CITES",
                "name": "Convention on International Trade in Endangered Species "
                "of Wild Fauna and Flora",
                "duty_station": "CH GVA",
            },
            {
                "code": "CMS",
                "name": "Convention on the Conservation of Migratory Species of Wild Animals",
                "duty_station": "DE BON",
            },
        ],
    )


def downgrade() -> None:
    op.drop_table("secretariat")
