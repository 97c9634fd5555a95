"""Test data made through the product's own services and API."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import UnitOfWork, session_scope
from shared.keys import service as keys


@dataclass(frozen=True)
class Keys:
    """Plain API keys for the usual callers, as Authorization headers."""

    admin: dict[str, str]
    cites: dict[str, str]  # read, write, approve
    cms: dict[str, str]  # read, write, approve
    cites_read: dict[str, str]  # read only
    cms_write_only: dict[str, str]  # write only


def units(factory: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    """Units of work as a worker task opens them, but without Redis: a test that calls a
    service directly has no worker to wake, so the jobs a commit asks for are dropped."""
    return functools.partial(session_scope, factory)


async def make_key(
    factory: async_sessionmaker[AsyncSession], name: str, secretariat: str | None, scopes: list[str]
) -> dict[str, str]:
    async with session_scope(factory) as session:
        _, raw = await keys.create_key(session, name, secretariat, scopes)
    return {"Authorization": f"Bearer {raw}"}


async def make_keys(factory: async_sessionmaker[AsyncSession]) -> Keys:
    return Keys(
        admin=await make_key(factory, "admin", None, ["admin"]),
        cites=await make_key(factory, "cites-coordinator", "CITES", ["read", "write", "approve"]),
        cms=await make_key(factory, "cms-coordinator", "CMS", ["read", "write", "approve"]),
        cites_read=await make_key(factory, "cites-dashboard", "CITES", ["read"]),
        cms_write_only=await make_key(factory, "cms-sync", "CMS", ["write"]),
    )


def meeting_body(**overrides: Any) -> dict[str, Any]:
    start = date.today() + timedelta(days=42)
    body = {
        "code": "CITES SC99",
        "title": "Ninety-ninth meeting of the CITES Standing Committee",
        "secretariat": "CITES",
        "body": "Standing Committee",
        "location": "CH GVA",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=4)).isoformat(),
    }
    body.update(overrides)
    return body


def activity_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Joint work on the African elephant",
        "description": "Coordinated support to range States on elephant conservation and trade.",
        "theme": "species",
        "species": ["Loxodonta africana"],
        "lead_secretariat": "CMS",
        "partner_secretariats": ["CITES"],
        "status": "ongoing",
        "start_date": "2011-01-01",
        "end_date": "2014-12-31",
        "meeting_codes": [],
        "tags": ["elephants"],
    }
    body.update(overrides)
    return body


async def create(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data
