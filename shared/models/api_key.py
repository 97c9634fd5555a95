"""API keys: stored as a hash, shown once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class ApiKey(Base):
    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['read', 'write', 'approve', 'admin']::varchar[]", name="scopes_known"
        ),
        CheckConstraint("cardinality(scopes) >= 1", name="scopes_present"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    secretariat_code: Mapped[str | None] = mapped_column(String(16), ForeignKey("secretariat.code"))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
