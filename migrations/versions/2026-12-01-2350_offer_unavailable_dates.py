"""capacity offers list the days their people are away (leave, missions)

Revision ID: cal2
Revises: cal1
Create Date: 2026-12-01 23:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "cal2"
down_revision: str | None = "cal1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "capacity_offer",
        sa.Column(
            "unavailable_dates",
            postgresql.ARRAY(sa.Date()),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("capacity_offer", "unavailable_dates")
