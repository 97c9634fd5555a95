"""Allocations: hours of one capacity offer given to one workload request, day by day."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db.base import Base
from shared.models.common import ResourceColumns
from shared.models.workload_request import in_list

ALLOCATION_STATUSES = ("proposed", "accepted", "declined", "cancelled")
LIVE_STATUSES = ("proposed", "accepted")


class AllocationDay(Base):
    """The hours of an allocation on one day (accepted hours per offer and day are one SUM)."""

    __tablename__ = "allocation_day"
    __table_args__ = (
        CheckConstraint("hours BETWEEN 1 AND 24", name="hours_range"),
        Index("ix_allocation_day_day", "day"),
    )

    allocation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("allocation.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hours: Mapped[int] = mapped_column(Integer)


class Allocation(ResourceColumns, Base):
    """A proposal of the matching worker, then the offering secretariat's decision on it."""

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint(in_list("status", ALLOCATION_STATUSES), name="status_known"),
        CheckConstraint("hours >= 1", name="hours_positive"),
        CheckConstraint(
            "(status = 'proposed') = (decided_at IS NULL AND decided_by IS NULL)",
            name="decision_recorded",
        ),
        CheckConstraint(
            "status NOT IN ('declined', 'cancelled') OR reason IS NOT NULL", name="reason_given"
        ),
        # One proposal per pair; it may stand beside accepted hours of the same pair
        # (the optimum can ask more of an offer that already serves the request).
        Index(
            "uq_allocation_proposed_pair",
            "request_id",
            "offer_id",
            unique=True,
            postgresql_where=text("status = 'proposed'"),
        ),
        Index("ix_allocation_created", "created_at", "id"),
        Index("ix_allocation_request_status", "request_id", "status"),
        Index("ix_allocation_offer_status", "offer_id", "status"),
        Index("ix_allocation_status", "status"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workload_request.id")
    )
    offer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("capacity_offer.id"))
    hours: Mapped[int] = mapped_column(Integer)
    travel: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(12), server_default="proposed")
    matching_run_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("matching_run.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)

    days: Mapped[list[AllocationDay]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by=AllocationDay.day,
    )


class DeclinedPair(Base):
    """A (request, offer) pair the offering secretariat declined: matching leaves it alone.

    The ban holds for good, except that editing the request or the offer in a field that
    matters to eligibility (kind, skills, on_site, location, travel_ok, dates, secretariat)
    deletes the bans of that request or offer: the pair is then a different proposition and
    may be proposed again. The decline itself stays on the allocation and in the history.
    """

    __tablename__ = "declined_pair"

    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workload_request.id"), primary_key=True
    )
    offer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("capacity_offer.id"), primary_key=True, index=True
    )
    allocation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("allocation.id")
    )
    declined_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    declined_by: Mapped[str] = mapped_column(String(100))
