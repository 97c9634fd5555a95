"""Schema bases shared by every resource."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class InputModel(BaseModel):
    """Base of request bodies: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
