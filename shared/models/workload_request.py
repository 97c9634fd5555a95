"""Workload requests: a secretariat asks for ICT or staff support for a period."""

from __future__ import annotations

import uuid
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
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models.common import ExternalRefColumns, ResourceColumns

KINDS = ("ict", "staff")
PRIORITIES = ("low", "normal", "high", "critical")
REQUEST_STATUSES = ("open", "partially_matched", "matched", "fulfilled", "cancelled", "expired")
MAX_SKILLS = 20
MAX_WINDOW_DAYS = 366
MAX_REQUEST_HOURS = 10_000


def in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL `column IN (...)` for a check constraint."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class WorkloadRequest(ResourceColumns, ExternalRefColumns, Base):
    """Hours of support asked for; `status` and the hour figures follow the allocations."""

    __tablename__ = "workload_request"
    __table_args__ = (
        CheckConstraint(in_list("kind", KINDS), name="kind_known"),
        CheckConstraint(in_list("priority", PRIORITIES), name="priority_known"),
        CheckConstraint(in_list("status", REQUEST_STATUSES), name="status_known"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint(f"end_date - start_date < {MAX_WINDOW_DAYS}", name="window_bounded"),
        CheckConstraint(f"hours BETWEEN 1 AND {MAX_REQUEST_HOURS}", name="hours_range"),
        CheckConstraint(f"cardinality(skills) <= {MAX_SKILLS}", name="skills_bounded"),
        CheckConstraint("location ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name="location_locode"),
        CheckConstraint("NOT on_site OR location IS NOT NULL", name="on_site_has_location"),
        CheckConstraint("hours_proposed >= 0", name="hours_proposed_positive"),
        CheckConstraint("hours_accepted >= 0", name="hours_accepted_positive"),
        # The last line of defence of the request limit of matching.md.
        CheckConstraint("hours_accepted <= hours", name="accepted_within_hours"),
        # One secretariat's references: another may use the same source and id.
        Index(
            "uq_workload_request_external_ref",
            "secretariat_code",
            "external_source",
            "external_id",
            unique=True,
            postgresql_where=text("external_source IS NOT NULL"),
        ),
        Index("ix_workload_request_created", "created_at", "id"),
        Index("ix_workload_request_updated_at", "updated_at"),
        Index("ix_workload_request_secretariat", "secretariat_code"),
        Index("ix_workload_request_status_end", "status", "end_date"),
        Index("ix_workload_request_skills", "skills", postgresql_using="gin"),
        Index("ix_workload_request_meeting_code", "meeting_code"),
    )

    secretariat_code: Mapped[str] = mapped_column(String(16), ForeignKey("secretariat.code"))
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, server_default="")
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    hours: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(8), server_default="normal")
    on_site: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    location: Mapped[str | None] = mapped_column(String(6))
    # A meeting's code may change (when no activity reports to it): follow it.
    meeting_code: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("meeting.code", onupdate="CASCADE")
    )
    # Deleting the joint activity leaves the request, without the link.
    activity_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("activity.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), server_default="open")
    hours_proposed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    hours_accepted: Mapped[int] = mapped_column(Integer, server_default=text("0"))
