"""Database plumbing: declarative base, engine and session factories."""

from shared.db.base import Base
from shared.db.session import (
    UnitOfWork,
    create_engine,
    create_read_session_factory,
    create_session_factory,
    session_scope,
)

__all__ = [
    "Base",
    "UnitOfWork",
    "create_engine",
    "create_read_session_factory",
    "create_session_factory",
    "session_scope",
]
