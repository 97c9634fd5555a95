"""Secretariat schemas."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SecretariatRead(BaseModel):
    code: str = Field(examples=["CITES"])
    name: str = Field(examples=["Convention on International Trade in Endangered Species"])
    duty_station: str = Field(examples=["CH GVA"], description="UN/LOCODE")
