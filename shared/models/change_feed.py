"""What the change feed has forgotten: cursors before `pruned_through_seq` must resync."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, SmallInteger, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class ChangeFeedState(Base):
    """One row: the highest feed position removed by retention."""

    __tablename__ = "change_feed_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    pruned_through_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    pruned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
