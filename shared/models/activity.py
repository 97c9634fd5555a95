"""Joint activities of the secretariats."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Computed, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models.common import ExternalRefColumns, ResourceColumns

THEMES = (
    "species",
    "listings_nomenclature",
    "governing_bodies",
    "nbsap",
    "funding",
    "liaison",
    "administration",
    "other",
)
ACTIVITY_STATUSES = ("planned", "ongoing", "completed", "dropped")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Activity(ResourceColumns, ExternalRefColumns, Base):
    __tablename__ = "activity"
    __table_args__ = (
        CheckConstraint(_in("theme", THEMES), name="theme_known"),
        CheckConstraint(_in("status", ACTIVITY_STATUSES), name="status_known"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_ordered",
        ),
        CheckConstraint(
            "NOT (lead_secretariat_code = ANY(partner_secretariat_codes))",
            name="lead_not_partner",
        ),
        # One secretariat's references: another may use the same source and id.
        Index(
            "uq_activity_external_ref",
            "lead_secretariat_code",
            "external_source",
            "external_id",
            unique=True,
            postgresql_where=text("external_source IS NOT NULL"),
        ),
        Index("ix_activity_created", "created_at", "id"),
        Index("ix_activity_updated_at", "updated_at"),
        Index("ix_activity_search", "search", postgresql_using="gin"),
        Index("ix_activity_species_key", "species_key", postgresql_using="gin"),
        Index("ix_activity_partners", "partner_secretariat_codes", postgresql_using="gin"),
        Index("ix_activity_meeting_codes", "meeting_codes", postgresql_using="gin"),
        Index("ix_activity_lead", "lead_secretariat_code"),
    )

    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, server_default="")
    theme: Mapped[str] = mapped_column(String(32))
    species: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default="{}")
    lead_secretariat_code: Mapped[str] = mapped_column(String(16), ForeignKey("secretariat.code"))
    partner_secretariat_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(16)), server_default="{}"
    )
    status: Mapped[str] = mapped_column(String(16), server_default="planned")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    meeting_codes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    species_key: Mapped[list[str]] = mapped_column(
        ARRAY(Text), Computed("tandem_lower_array(species)", persisted=True)
    )
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('english'::regconfig, title || ' ' || description)", persisted=True),
    )
