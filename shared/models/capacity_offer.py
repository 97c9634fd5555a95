"""Capacity offers: a secretariat offers people's hours with some skills for a period."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models.common import ExternalRefColumns, ResourceColumns
from shared.models.workload_request import KINDS, MAX_SKILLS, MAX_WINDOW_DAYS, in_list

OFFER_STATUSES = ("active", "withdrawn")
MAX_HOURS_PER_DAY = 12
MAX_OFFER_TOTAL_HOURS = MAX_HOURS_PER_DAY * MAX_WINDOW_DAYS


class CapacityOffer(ResourceColumns, ExternalRefColumns, Base):
    """Hours on offer; the hour figures follow the allocations."""

    __tablename__ = "capacity_offer"
    __table_args__ = (
        CheckConstraint(in_list("kind", KINDS), name="kind_known"),
        CheckConstraint(in_list("status", OFFER_STATUSES), name="status_known"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint(f"end_date - start_date < {MAX_WINDOW_DAYS}", name="window_bounded"),
        CheckConstraint(
            f"hours_per_day BETWEEN 1 AND {MAX_HOURS_PER_DAY}", name="hours_per_day_range"
        ),
        CheckConstraint(
            f"total_hours BETWEEN 1 AND {MAX_OFFER_TOTAL_HOURS}", name="total_hours_range"
        ),
        CheckConstraint(f"cardinality(skills) <= {MAX_SKILLS}", name="skills_bounded"),
        CheckConstraint("location ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name="location_locode"),
        CheckConstraint("hours_proposed >= 0", name="hours_proposed_positive"),
        CheckConstraint("hours_accepted >= 0", name="hours_accepted_positive"),
        # The last line of defence of the offer's total limit of matching.md.
        CheckConstraint("hours_accepted <= total_hours", name="accepted_within_total"),
        # One secretariat's references: another may use the same source and id.
        Index(
            "uq_capacity_offer_external_ref",
            "secretariat_code",
            "external_source",
            "external_id",
            unique=True,
            postgresql_where=text("external_source IS NOT NULL"),
        ),
        Index("ix_capacity_offer_created", "created_at", "id"),
        Index("ix_capacity_offer_updated_at", "updated_at"),
        Index("ix_capacity_offer_secretariat", "secretariat_code"),
        Index("ix_capacity_offer_status", "status"),
        Index("ix_capacity_offer_skills", "skills", postgresql_using="gin"),
    )

    secretariat_code: Mapped[str] = mapped_column(String(16), ForeignKey("secretariat.code"))
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, server_default="")
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    hours_per_day: Mapped[int] = mapped_column(Integer)
    total_hours: Mapped[int] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(6))
    travel_ok: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Leave and missions: days inside the window on which nobody of the offer works.
    unavailable_dates: Mapped[list[date]] = mapped_column(ARRAY(Date), server_default="{}")
    status: Mapped[str] = mapped_column(String(12), server_default="active")
    hours_proposed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    hours_accepted: Mapped[int] = mapped_column(Integer, server_default=text("0"))
