"""taxon registers of the conventions, their listings, and their discrepancies

Name search is case- and accent-insensitive: `tandem_name_key` (an IMMUTABLE wrapper of
`unaccent` with its dictionary named, so it can be indexed) normalises a name, and a trigram
index on the result serves typing-ahead. Both extensions come with PostgreSQL's contrib
package; where they are missing (the embedded server of `tandem run` ships without contrib)
the function folds the accents of Latin letters itself and the name index is a b-tree for
prefixes, so the same queries run everywhere, only slower on a large register.

Revision ID: 0008_taxa
Revises: cal2
Create Date: 2026-12-01 23:24:14.525896+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_taxa"
down_revision: str | None = "ownref1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NAME_KEY = r"""
CREATE FUNCTION tandem_name_key(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT lower(btrim(regexp_replace(%s, '\s+', ' ', 'g'))) $$
"""
UNACCENT = "public.unaccent('public.unaccent'::regdictionary, $1)"
FOLD = (
    "translate($1, 'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿ',"
    " 'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYyy')"
)


def _available(extension: str) -> bool:
    found = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": extension}
    )
    return found.first() is not None


def upgrade() -> None:
    if _available("unaccent"):
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public")
        op.execute(NAME_KEY % UNACCENT)
    else:
        op.execute(NAME_KEY % FOLD)
    trigrams = _available("pg_trgm")
    if trigrams:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.create_table(
        "taxon_concept",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("convention", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("author_year", sa.String(length=255), server_default="", nullable=False),
        sa.Column("rank", sa.String(length=32), nullable=False),
        sa.Column("name_status", sa.String(length=2), nullable=False),
        sa.Column("kingdom", sa.String(length=100), nullable=True),
        sa.Column("phylum", sa.String(length=100), nullable=True),
        sa.Column("class_name", sa.String(length=100), nullable=True),
        sa.Column("order_name", sa.String(length=100), nullable=True),
        sa.Column("family", sa.String(length=100), nullable=True),
        sa.Column("genus", sa.String(length=100), nullable=True),
        sa.Column(
            "common_names",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "name_key",
            sa.Text(),
            sa.Computed("tandem_name_key(full_name)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "higher_keys",
            postgresql.ARRAY(sa.Text()),
            sa.Computed(
                "array_remove(ARRAY[lower(kingdom), lower(phylum), lower(class_name), lower(order_name), lower(family), lower(genus)], NULL)",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "name_status IN ('A', 'S', 'N', 'T', 'H')",
            name=op.f("ck_taxon_concept_name_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxon_concept")),
        sa.UniqueConstraint(
            "convention", "source_id", name=op.f("uq_taxon_concept_convention_source_id")
        ),
    )
    op.create_index(
        "ix_taxon_concept_higher_keys",
        "taxon_concept",
        ["higher_keys"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_taxon_concept_name_key", "taxon_concept", ["name_key"], unique=False)
    if trigrams:
        op.create_index(
            "ix_taxon_concept_name_trgm",
            "taxon_concept",
            ["name_key"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        )
    else:
        op.create_index(
            "ix_taxon_concept_name_trgm",
            "taxon_concept",
            ["name_key"],
            unique=False,
            postgresql_ops={"name_key": "text_pattern_ops"},
        )
    op.create_table(
        "taxon_discrepancy",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("relation", sa.String(length=16), server_default="", nullable=False),
        sa.Column("conventions", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("listed_by", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("appendices", postgresql.ARRAY(sa.String(length=24)), nullable=False),
        sa.Column("class_key", sa.String(length=100), server_default="", nullable=False),
        sa.Column("order_key", sa.String(length=100), server_default="", nullable=False),
        sa.Column("family_key", sa.String(length=100), server_default="", nullable=False),
        sa.Column("names", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("name_keys", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("concept_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "kind IN ('listed_by_one_only', 'different_listing', 'different_names', 'not_covered')",
            name=op.f("ck_taxon_discrepancy_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxon_discrepancy")),
    )
    op.create_index("ix_taxon_discrepancy_kind", "taxon_discrepancy", ["kind", "id"], unique=False)
    op.create_index(
        "ix_taxon_discrepancy_name_keys",
        "taxon_discrepancy",
        ["name_keys"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "taxon_register",
        sa.Column("convention", sa.String(length=16), nullable=False),
        sa.Column("nomenclature_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("concepts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("convention", name=op.f("pk_taxon_register")),
    )
    op.create_table(
        "taxon_listing",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("taxon_concept_id", sa.UUID(), nullable=False),
        sa.Column("appendix", sa.String(length=8), nullable=False),
        sa.Column("population", sa.String(length=300), nullable=True),
        sa.Column("annotation", sa.Text(), server_default="", nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("is_current", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "appendix IN ('I', 'II', 'III')", name=op.f("ck_taxon_listing_appendix_known")
        ),
        sa.ForeignKeyConstraint(
            ["taxon_concept_id"],
            ["taxon_concept.id"],
            name=op.f("fk_taxon_listing_taxon_concept_id_taxon_concept"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxon_listing")),
    )
    op.create_index("ix_taxon_listing_concept", "taxon_listing", ["taxon_concept_id"], unique=False)
    op.create_table(
        "taxon_synonymy",
        sa.Column("synonym_id", sa.UUID(), nullable=False),
        sa.Column("accepted_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_id"],
            ["taxon_concept.id"],
            name=op.f("fk_taxon_synonymy_accepted_id_taxon_concept"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["synonym_id"],
            ["taxon_concept.id"],
            name=op.f("fk_taxon_synonymy_synonym_id_taxon_concept"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("synonym_id", "accepted_id", name=op.f("pk_taxon_synonymy")),
    )
    op.create_index("ix_taxon_synonymy_accepted", "taxon_synonymy", ["accepted_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_taxon_synonymy_accepted", table_name="taxon_synonymy")
    op.drop_table("taxon_synonymy")
    op.drop_index("ix_taxon_listing_concept", table_name="taxon_listing")
    op.drop_table("taxon_listing")
    op.drop_table("taxon_register")
    op.drop_index("ix_taxon_discrepancy_name_keys", table_name="taxon_discrepancy")
    op.drop_index("ix_taxon_discrepancy_kind", table_name="taxon_discrepancy")
    op.drop_table("taxon_discrepancy")
    op.drop_index(
        "ix_taxon_concept_name_trgm",
        table_name="taxon_concept",
        postgresql_using="gin",
        postgresql_ops={"name_key": "gin_trgm_ops"},
    )
    op.drop_index("ix_taxon_concept_name_key", table_name="taxon_concept")
    op.drop_index(
        "ix_taxon_concept_higher_keys", table_name="taxon_concept", postgresql_using="gin"
    )
    op.drop_table("taxon_concept")
    op.execute("DROP FUNCTION tandem_name_key(text)")
