"""Duty stations and secretariat closures: what makes a weekday a working day or not."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class DutyStation(Base):
    """A UN/LOCODE and the country and subdivision whose public holidays it keeps."""

    __tablename__ = "duty_station"
    __table_args__ = (
        CheckConstraint("locode ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name="locode_format"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_format"),
    )

    locode: Mapped[str] = mapped_column(String(6), primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SecretariatClosure(Base):
    """A day a secretariat's office is closed (UN official holiday, end-of-year closure)."""

    __tablename__ = "secretariat_closure"
    __table_args__ = (UniqueConstraint("secretariat_code", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    secretariat_code: Mapped[str] = mapped_column(
        String(16), ForeignKey("secretariat.code", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
