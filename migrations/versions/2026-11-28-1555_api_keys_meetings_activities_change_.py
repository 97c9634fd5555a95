"""api keys, meetings, activities, change feed, idempotency

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:55:08.815968+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


LOWER_ARRAY = """
CREATE FUNCTION tandem_lower_array(text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT coalesce(array_agg(lower(x)), '{}') FROM unnest($1) AS x $$
"""


def upgrade() -> None:
    op.execute(LOWER_ARRAY)
    op.create_table(
        "change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.UUID(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
    )
    op.create_index("ix_change_at", "change", ["at"], unique=False)
    op.create_index(
        "ix_change_unsequenced",
        "change",
        ["id"],
        unique=False,
        postgresql_where=sa.text("seq IS NULL"),
    )
    op.create_index(
        "uq_change_seq", "change", ["seq"], unique=True, postgresql_where=sa.text("seq IS NOT NULL")
    )
    op.create_table(
        "activity",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column(
            "species", postgresql.ARRAY(sa.String(length=200)), server_default="{}", nullable=False
        ),
        sa.Column("lead_secretariat_code", sa.String(length=16), nullable=False),
        sa.Column(
            "partner_secretariat_codes",
            postgresql.ARRAY(sa.String(length=16)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), server_default="planned", nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "meeting_codes",
            postgresql.ARRAY(sa.String(length=40)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False
        ),
        sa.Column(
            "species_key",
            postgresql.ARRAY(sa.Text()),
            sa.Computed("tandem_lower_array(species)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('english'::regconfig, title || ' ' || description)", persisted=True
            ),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("external_source", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'ongoing', 'completed', 'dropped')",
            name=op.f("ck_activity_status_known"),
        ),
        sa.CheckConstraint(
            "theme IN ('species', 'listings_nomenclature', 'governing_bodies', 'nbsap', 'funding', 'liaison', 'administration', 'other')",
            name=op.f("ck_activity_theme_known"),
        ),
        sa.CheckConstraint(
            "NOT (lead_secretariat_code = ANY(partner_secretariat_codes))",
            name=op.f("ck_activity_lead_not_partner"),
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name=op.f("ck_activity_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_secretariat_code"],
            ["secretariat.code"],
            name=op.f("fk_activity_lead_secretariat_code_secretariat"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    op.create_index("ix_activity_created", "activity", ["created_at", "id"], unique=False)
    op.create_index("ix_activity_lead", "activity", ["lead_secretariat_code"], unique=False)
    op.create_index(
        "ix_activity_meeting_codes",
        "activity",
        ["meeting_codes"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_activity_partners",
        "activity",
        ["partner_secretariat_codes"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_activity_search", "activity", ["search"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_activity_species_key", "activity", ["species_key"], unique=False, postgresql_using="gin"
    )
    op.create_index("ix_activity_updated_at", "activity", ["updated_at"], unique=False)
    op.create_index(
        "uq_activity_external_ref",
        "activity",
        ["external_source", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_source IS NOT NULL"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("secretariat_code", sa.String(length=16), nullable=True),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['read', 'write', 'approve', 'admin']::varchar[]",
            name=op.f("ck_api_key_scopes_known"),
        ),
        sa.CheckConstraint("cardinality(scopes) >= 1", name=op.f("ck_api_key_scopes_present")),
        sa.ForeignKeyConstraint(
            ["secretariat_code"],
            ["secretariat.code"],
            name=op.f("fk_api_key_secretariat_code_secretariat"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
    )
    op.create_table(
        "meeting",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("secretariat_code", sa.String(length=16), nullable=False),
        sa.Column("body", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=6), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="scheduled", nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("external_source", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "location ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name=op.f("ck_meeting_location_locode")
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'cancelled')", name=op.f("ck_meeting_status_known")
        ),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_meeting_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["secretariat_code"],
            ["secretariat.code"],
            name=op.f("fk_meeting_secretariat_code_secretariat"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
        sa.UniqueConstraint("code", name=op.f("uq_meeting_code")),
    )
    op.create_index("ix_meeting_created", "meeting", ["created_at", "id"], unique=False)
    op.create_index("ix_meeting_start_date", "meeting", ["start_date"], unique=False)
    op.create_index(
        "uq_meeting_external_ref",
        "meeting",
        ["external_source", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_source IS NOT NULL"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
            name=op.f("fk_idempotency_record_api_key_id_api_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("api_key_id", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_index(
        "ix_idempotency_record_created_at", "idempotency_record", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    op.drop_table("idempotency_record")
    op.drop_index(
        "uq_meeting_external_ref",
        table_name="meeting",
        postgresql_where=sa.text("external_source IS NOT NULL"),
    )
    op.drop_index("ix_meeting_start_date", table_name="meeting")
    op.drop_index("ix_meeting_created", table_name="meeting")
    op.drop_table("meeting")
    op.drop_table("api_key")
    op.drop_index(
        "uq_activity_external_ref",
        table_name="activity",
        postgresql_where=sa.text("external_source IS NOT NULL"),
    )
    op.drop_index("ix_activity_updated_at", table_name="activity")
    op.drop_index("ix_activity_species_key", table_name="activity", postgresql_using="gin")
    op.drop_index("ix_activity_search", table_name="activity", postgresql_using="gin")
    op.drop_index("ix_activity_partners", table_name="activity", postgresql_using="gin")
    op.drop_index("ix_activity_meeting_codes", table_name="activity", postgresql_using="gin")
    op.drop_index("ix_activity_lead", table_name="activity")
    op.drop_index("ix_activity_created", table_name="activity")
    op.drop_table("activity")
    op.drop_index("uq_change_seq", table_name="change", postgresql_where=sa.text("seq IS NOT NULL"))
    op.drop_index(
        "ix_change_unsequenced", table_name="change", postgresql_where=sa.text("seq IS NULL")
    )
    op.drop_index("ix_change_at", table_name="change")
    op.drop_table("change")
    op.execute("DROP FUNCTION tandem_lower_array(text[])")
