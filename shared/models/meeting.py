"""Meetings of governing bodies and others, to which joint activities are reported."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models.common import ExternalRefColumns, ResourceColumns


class Meeting(ResourceColumns, ExternalRefColumns, Base):
    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
        CheckConstraint("location ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name="location_locode"),
        # One secretariat's references: another may use the same source and id.
        Index(
            "uq_meeting_external_ref",
            "secretariat_code",
            "external_source",
            "external_id",
            unique=True,
            postgresql_where=text("external_source IS NOT NULL"),
        ),
        Index("ix_meeting_created", "created_at", "id"),
        Index("ix_meeting_start_date", "start_date"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    secretariat_code: Mapped[str] = mapped_column(String(16), ForeignKey("secretariat.code"))
    body: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(6))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), server_default="scheduled")
