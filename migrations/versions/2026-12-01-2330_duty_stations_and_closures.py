"""duty stations (country and subdivision of each UN/LOCODE) and secretariat closures

Each secretariat's working days are the deployment's weekdays minus the public holidays of
its duty station's country and subdivision, minus the closure days its admins record.

Revision ID: cal1
Revises: 0007
Create Date: 2026-12-01 23:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "cal1"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_station",
        sa.Column("locode", sa.String(length=6), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("subdivision", sa.String(length=16), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "locode ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name=op.f("ck_duty_station_locode_format")
        ),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name=op.f("ck_duty_station_country_format")),
        sa.PrimaryKeyConstraint("locode", name=op.f("pk_duty_station")),
    )
    op.execute(
        "INSERT INTO duty_station (locode, country, subdivision) "
        "VALUES ('CH GVA', 'CH', 'GE'), ('DE BON', 'DE', 'NW')"
    )
    op.create_table(
        "secretariat_closure",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("secretariat_code", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["secretariat_code"],
            ["secretariat.code"],
            name=op.f("fk_secretariat_closure_secretariat_code_secretariat"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secretariat_closure")),
        sa.UniqueConstraint(
            "secretariat_code", "day", name=op.f("uq_secretariat_closure_secretariat_code_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("secretariat_closure")
    op.drop_table("duty_station")
