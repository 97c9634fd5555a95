"""The change feed: every create, update and delete, numbered in commit order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class Change(Base):
    __tablename__ = "change"
    __table_args__ = (
        Index("uq_change_seq", "seq", unique=True, postgresql_where=text("seq IS NOT NULL")),
        Index("ix_change_unsequenced", "id", postgresql_where=text("seq IS NULL")),
        Index("ix_change_at", "at"),
    )

    # Insertion order; `seq` (the feed's position) is assigned after commit, in order.
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    op: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
