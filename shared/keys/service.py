"""API keys: made at random, shown once, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound, Unprocessable
from shared.keys import repository
from shared.models import ApiKey
from shared.policy import SCOPES, Principal
from shared.secretariats import service as secretariats

# A recognisable prefix lets secret scanners find a leaked key.
KEY_PREFIX = "tdm_"


def hash_key(raw: str) -> str:
    """The stored form of a key. Keys carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_key() -> str:
    """A fresh key: prefix plus 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _validate_scopes(scopes: Sequence[str], secretariat: str | None) -> list[str]:
    cleaned = sorted({s.strip().lower() for s in scopes if s.strip()})
    unknown = [s for s in cleaned if s not in SCOPES]
    if unknown or not cleaned:
        raise Unprocessable(
            f"Scopes must be among {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}."
        )
    if "admin" in cleaned and secretariat is not None:
        raise Unprocessable("An admin key belongs to no secretariat; drop --secretariat.")
    return cleaned


async def create_key(
    session: AsyncSession, name: str, secretariat: str | None, scopes: Sequence[str]
) -> tuple[ApiKey, str]:
    """Make a key; returns the stored record and the plain key (never stored)."""
    scope_list = _validate_scopes(scopes, secretariat)
    if secretariat is not None and not await secretariats.exists(session, secretariat):
        raise Unprocessable(f"Unknown secretariat '{secretariat}'.")
    raw = new_raw_key()
    key = ApiKey(
        name=name,
        prefix=raw[: len(KEY_PREFIX) + 6],
        key_hash=hash_key(raw),
        secretariat_code=secretariat,
        scopes=scope_list,
    )
    try:
        await repository.add(session, key)
    except IntegrityError as exc:
        raise Conflict(f"An API key named '{name}' exists already.") from exc
    return key, raw


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, newest first (hashes are never shown)."""
    return await repository.list_newest_first(session)


async def get_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    key = await repository.get(session, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}.")
    return key


async def revoke_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Revoke a key (idempotent); it stops working at once in this process."""
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
    return key


async def revoke_by_name(session: AsyncSession, name: str) -> ApiKey:
    key = await repository.by_name(session, name)
    if key is None:
        raise NotFound(f"No API key named '{name}'.")
    return await revoke_key(session, key)


async def find_principal(
    session: AsyncSession, raw: str
) -> tuple[Principal, datetime | None] | None:
    """The caller a plain key stands for, and when it was last used; None if unknown/revoked."""
    return await repository.principal_by_hash(session, hash_key(raw))


async def touch(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record that a key was used now."""
    await repository.set_last_used(session, key_id, datetime.now(UTC))


def to_api(key: ApiKey) -> dict[str, object]:
    """A key as the API shows it (never its hash)."""
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "secretariat": key.secretariat_code,
        "scopes": key.scopes,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


async def active_key_hashes(session: AsyncSession) -> frozenset[str]:
    """The hashes of every key that is not revoked (the edge's list of keys worth a lookup)."""
    return await repository.active_key_hashes(session)
