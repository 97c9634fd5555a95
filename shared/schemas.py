"""Schema bases shared by every resource."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.types import refuse_control_characters

T = TypeVar("T")


class InputModel(BaseModel):
    """Base of request bodies: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        # Every string field, whatever its type says: NUL would reach PostgreSQL as an error.
        refuse_control_characters(value)
        return value


class MergePatch(InputModel):
    """Base of PATCH bodies, JSON merge patches (RFC 7396): every field may be left out, and
    `null` removes a field, so the schema offers `null` only for fields the whole document
    (`document`) may lack; for the others the server refuses it (422 naming the field)."""

    document: ClassVar[type[BaseModel]]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        target = handler.resolve_ref_schema(json_schema)
        required = {
            name for name, field in cls.document.model_fields.items() if field.is_required()
        }
        for name, prop in target.get("properties", {}).items():
            if name in required and "anyOf" in prop:
                _drop_null(prop)
        return json_schema


def _drop_null(prop: dict[str, Any]) -> None:
    branches = [b for b in prop.pop("anyOf") if b != {"type": "null"}]
    prop.pop("default", None)
    if len(branches) == 1:
        prop.update(branches[0])
    else:
        prop["anyOf"] = branches


class OutputModel(BaseModel):
    """Base of responses."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page"
    )


M = TypeVar("M", bound=BaseModel)


def validate_document(model: type[M], data: dict[str, object]) -> M:
    """Validate a whole document (e.g. an object with a merge patch applied); 422 naming each
    bad field, as the API reports validation errors of request bodies."""
    from pydantic import ValidationError

    from shared.errors import Unprocessable

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": "body." + ".".join(str(p) for p in err["loc"]) if err["loc"] else "body",
                "message": str(err["msg"]).removeprefix("Value error, "),
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors[:5])
        raise Unprocessable(f"The request has invalid fields: {fields}", errors=errors) from exc
