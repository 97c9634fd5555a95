"""API key schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.schemas import InputModel, OutputModel
from shared.types import SecretariatCode

Scope = Literal["read", "write", "approve", "admin"]
KeyName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]*$",
    ),
    Field(examples=["cites-website-sync"]),
]


class ApiKeyCreate(InputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"name": "cms-hr-sync", "secretariat": "CMS", "scopes": ["read", "write"]}]
        }
    }

    name: KeyName
    secretariat: SecretariatCode | None = Field(
        default=None, description="The key's secretariat; none for an admin key"
    )
    scopes: list[Scope] = Field(min_length=1, max_length=4)


class ApiKeyRead(OutputModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    secretariat: str | None
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself; shown this once and never again")


class ApiKeyIdentity(OutputModel):
    """Who the calling key is: what a client needs to shape its view (no secret, no dates)."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "3f1e2d4c-5b6a-4789-9c0d-1e2f3a4b5c6d",
                    "name": "cites-coordinator",
                    "secretariat": "CITES",
                    "scopes": ["read", "write", "approve"],
                }
            ]
        }
    }

    id: uuid.UUID
    name: str
    secretariat: str | None = Field(description="The key's secretariat; none for an admin key")
    scopes: list[Scope]
