"""Opaque keyset cursors: base64url of the last row's sort key, checked strictly on the way in."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select, tuple_

from shared.errors import BadRequest

S = TypeVar("S", bound=Select)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(*parts: Any) -> str:
    """A cursor for the position after a row with these sort-key values."""
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """The sort-key values inside a cursor, each parsed as `kinds` says; 400 if it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_parse(value, kind) for value, kind in zip(raw, kinds, strict=True))
    except (
        ValueError,
        TypeError,
        OverflowError,
        binascii.Error,
        UnicodeError,
        orjson.JSONDecodeError,
    ) as exc:
        raise BadRequest(
            "The cursor is not valid: pass back the next_cursor of a previous page unchanged.",
            type_slug="invalid-cursor",
        ) from exc


def _parse(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError("timestamp expected")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("timestamp without zone")
        # OverflowError past year 1 or 9999 in UTC: not a cursor of ours.
        return parsed.astimezone(UTC)
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise ValueError("a bigint position expected")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("string expected")
        return value
    raise ValueError("unsupported cursor part")


def keyset_page(stmt: S, created_col: Any, id_col: Any, cursor: str | None, limit: int) -> S:
    """`stmt` restricted to rows after the cursor, in (created_at, id) order, one extra row."""
    if cursor:
        created, ident = decode_cursor(cursor, (datetime, uuid.UUID))
        # Row comparison uses the (created_at, id) index as one range scan.
        stmt = stmt.where(tuple_(created_col, id_col) > tuple_(created, ident))
    return stmt.order_by(created_col, id_col).limit(limit + 1)


def split_page(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """The page's rows and the cursor of the next page (None on the last page)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1]))
