"""The audit trail of workload requests, capacity offers and allocations (append-only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models.workload_request import in_list

HISTORY_RESOURCE_TYPES = ("workload_request", "capacity_offer", "allocation")


class HistoryEntry(Base):
    """Who did what to which object, when, why, and which fields went from what to what.

    A trigger of the migration refuses UPDATE and DELETE: entries are only ever added.
    """

    __tablename__ = "history_entry"
    __table_args__ = (
        CheckConstraint(in_list("resource_type", HISTORY_RESOURCE_TYPES), name="type_known"),
        Index("ix_history_entry_resource", "resource_type", "resource_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
