"""Durable intents written in the transaction that causes them (Redis only nudges the worker)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class MatchingTrigger(Base):
    """A reason to run matching; the next run takes every unhandled trigger."""

    __tablename__ = "matching_trigger"
    __table_args__ = (
        Index("ix_matching_trigger_pending", "id", postgresql_where=text("run_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Event(Base):
    """Something other systems may want to hear about (webhook deliveries fan out from here)."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_type_created", "type", "created_at"),
        Index("ix_event_undispatched", "seq", postgresql_where=text("dispatched_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set when the worker has fanned the event out to the subscriptions of that moment.
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
