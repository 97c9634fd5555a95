"""JSON encoding used for responses, stored documents and events."""

from __future__ import annotations

import uuid
from typing import Any

import orjson


def _default(value: Any) -> Any:
    # asyncpg returns its own UUID subclass, which orjson does not know natively.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    """JSON bytes (dates as YYYY-MM-DD, timestamps RFC 3339, UUIDs as strings)."""
    return orjson.dumps(value, default=_default)
