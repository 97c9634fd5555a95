"""Secretariat schemas."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.schemas import InputModel
from shared.types import Locode, SecretariatCode, Title


class SecretariatRead(BaseModel):
    code: str = Field(examples=["CITES"])
    name: str = Field(examples=["Convention on International Trade in Endangered Species"])
    duty_station: str = Field(examples=["CH GVA"], description="UN/LOCODE")


class SecretariatCreate(InputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "AEWA",
                    "name": "Agreement on the Conservation of African-Eurasian Migratory "
                    "Waterbirds",
                    "duty_station": "DE BON",
                }
            ]
        }
    }

    code: SecretariatCode
    name: Title
    duty_station: Locode
