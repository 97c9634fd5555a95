"""The conventions' taxon registers: taxon concepts, synonymy, listings, and the comparison of
two registers (discrepancies), recomputed after each import."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

NAME_STATUSES = ("A", "S", "N", "T", "H")
APPENDICES = ("I", "II", "III")
DISCREPANCY_KINDS = ("listed_by_one_only", "different_listing", "different_names", "not_covered")


class TaxonRegister(Base):
    """One convention's register: when it was last imported and the reference it follows."""

    __tablename__ = "taxon_register"

    convention: Mapped[str] = mapped_column(String(16), primary_key=True)
    nomenclature_reference: Mapped[str] = mapped_column(Text, server_default="")
    concepts: Mapped[int] = mapped_column(Integer, server_default="0")
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class TaxonConcept(Base):
    """A name in a convention's taxonomy (accepted or not), keyed by the source's id."""

    __tablename__ = "taxon_concept"
    __table_args__ = (
        UniqueConstraint("convention", "source_id"),
        CheckConstraint(
            "name_status IN (" + ", ".join(repr(s) for s in NAME_STATUSES) + ")",
            name="name_status_known",
        ),
        Index("ix_taxon_concept_name_key", "name_key"),
        Index(
            "ix_taxon_concept_name_trgm",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ),
        Index("ix_taxon_concept_higher_keys", "higher_keys", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    convention: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(BigInteger)
    full_name: Mapped[str] = mapped_column(String(255))
    author_year: Mapped[str] = mapped_column(String(255), server_default="")
    rank: Mapped[str] = mapped_column(String(32))
    name_status: Mapped[str] = mapped_column(String(2))
    kingdom: Mapped[str | None] = mapped_column(String(100))
    phylum: Mapped[str | None] = mapped_column(String(100))
    class_name: Mapped[str | None] = mapped_column(String(100))
    order_name: Mapped[str | None] = mapped_column(String(100))
    family: Mapped[str | None] = mapped_column(String(100))
    genus: Mapped[str | None] = mapped_column(String(100))
    common_names: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    content_hash: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    name_key: Mapped[str] = mapped_column(
        Text, Computed("tandem_name_key(full_name)", persisted=True)
    )
    higher_keys: Mapped[list[str]] = mapped_column(
        ARRAY(Text),
        Computed(
            "array_remove(ARRAY[lower(kingdom), lower(phylum), lower(class_name), "
            "lower(order_name), lower(family), lower(genus)], NULL)",
            persisted=True,
        ),
    )


class TaxonSynonymy(Base):
    """A synonym (or other non-accepted name) and an accepted concept it stands for."""

    __tablename__ = "taxon_synonymy"
    __table_args__ = (Index("ix_taxon_synonymy_accepted", "accepted_id"),)

    synonym_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("taxon_concept.id", ondelete="CASCADE"), primary_key=True
    )
    accepted_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("taxon_concept.id", ondelete="CASCADE"), primary_key=True
    )


class TaxonListing(Base):
    """A listing of a concept in an appendix, whole or for one population (split listing)."""

    __tablename__ = "taxon_listing"
    __table_args__ = (
        CheckConstraint(
            "appendix IN (" + ", ".join(repr(a) for a in APPENDICES) + ")", name="appendix_known"
        ),
        Index("ix_taxon_listing_concept", "taxon_concept_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    taxon_concept_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("taxon_concept.id", ondelete="CASCADE")
    )
    appendix: Mapped[str] = mapped_column(String(8))
    population: Mapped[str | None] = mapped_column(String(300))
    annotation: Mapped[str] = mapped_column(Text, server_default="")
    effective_date: Mapped[date | None] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, server_default="true")
    source: Mapped[str] = mapped_column(Text, server_default="")


class TaxonDiscrepancy(Base):
    """Where two conventions' registers differ, as computed after the last import."""

    __tablename__ = "taxon_discrepancy"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(repr(k) for k in DISCREPANCY_KINDS) + ")", name="kind_known"
        ),
        Index("ix_taxon_discrepancy_kind", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    relation: Mapped[str] = mapped_column(String(16), server_default="")
    conventions: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    listed_by: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    appendices: Mapped[list[str]] = mapped_column(ARRAY(String(24)))
    class_key: Mapped[str] = mapped_column(String(100), server_default="")
    order_key: Mapped[str] = mapped_column(String(100), server_default="")
    family_key: Mapped[str] = mapped_column(String(100), server_default="")
    names: Mapped[list[str]] = mapped_column(ARRAY(Text))
    name_keys: Mapped[list[str]] = mapped_column(ARRAY(Text))
    concept_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    sentence: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
