"""Secretariats: the organisations that share work and lend each other people."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class Secretariat(Base):
    __tablename__ = "secretariat"
    __table_args__ = (
        CheckConstraint("code ~ '^[A-Z][A-Z0-9-]{1,15}$'", name="code_format"),
        CheckConstraint("duty_station ~ '^[A-Z]{2} [A-Z2-9]{3}$'", name="duty_station_locode"),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    duty_station: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
