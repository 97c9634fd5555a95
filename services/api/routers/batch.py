"""Bulk sync: `POST /v1/<collection>:batch-upsert` for every resource registered below."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, WithJsonSchema, create_model
from starlette.responses import Response

from services.api.auth import WriteKey
from services.api.conventions import idempotent, json_response
from services.api.deps import SessionDep, SettingsDep
from services.api.problems import PROBLEM_BASE
from services.api.routing import Problem, RefOwner, problems
from shared import batch
from shared.activities import service as activities
from shared.activities.schemas import ActivityWrite
from shared.errors import AppError
from shared.meetings import service as meetings
from shared.meetings.schemas import MeetingWrite
from shared.policy import reference_owner
from shared.schemas import InputModel
from shared.support.offers import service as capacity_offers
from shared.support.offers.schemas import CapacityOfferWrite
from shared.support.requests import service as workload_requests
from shared.support.requests.schemas import WorkloadRequestWrite
from shared.types import ExternalRef

router = APIRouter(tags=["bulk sync"])

# One line per resource that takes batch upserts.
BATCHES: tuple[batch.BatchResource[Any], ...] = (
    batch.BatchResource(
        "activities", activities.ACTIVITIES, ActivityWrite, activities.upsert_by_ref
    ),
    batch.BatchResource("meetings", meetings.MEETINGS, MeetingWrite, meetings.upsert_by_ref),
    batch.BatchResource(
        "workload-requests",
        workload_requests.REQUESTS,
        WorkloadRequestWrite,
        workload_requests.upsert_by_ref,
    ),
    batch.BatchResource(
        "capacity-offers", capacity_offers.OFFERS, CapacityOfferWrite, capacity_offers.upsert_by_ref
    ),
)


def _body_model(spec: batch.BatchResource[Any]) -> type[InputModel]:
    """The request body. One rule for items: the batch as a whole must be a list of at most
    MAX_ITEMS objects (else 422, nothing applied); each object is then validated on its own
    against the resource's write schema, and one that breaks it fails alone with its problem
    in the results. The schema therefore describes an item as any object and names the write
    schema it is checked against."""
    write = spec.schema.__name__
    items_schema = {
        "type": "array",
        "maxItems": batch.MAX_ITEMS,
        "items": {
            "type": "object",
            "description": f"A `{write}` document with its `external_ref`; one that breaks "
            f"`{write}` is reported as an `error` result, the others are applied",
        },
        "description": f"Up to {batch.MAX_ITEMS} objects, each with its `external_ref`",
    }
    model: type[InputModel] = create_model(
        f"{write.removesuffix('Write')}BatchUpsert",
        __base__=InputModel,
        items=(
            Annotated[
                list[dict[str, Any]],
                Field(max_length=batch.MAX_ITEMS),
                WithJsonSchema(items_schema),
            ],
            ...,
        ),
    )
    return model


class BatchItemResult(BaseModel):
    index: int = Field(description="Position of the item in the request")
    external_ref: ExternalRef | None
    result: Literal["created", "updated", "unchanged", "error"]
    id: str | None = None
    version: int | None = None
    problem: Problem | None = Field(default=None, description="Why the item was not applied")


class BatchCounts(BaseModel):
    created: int
    updated: int
    unchanged: int
    error: int


class BatchUpsertResult(BaseModel):
    items: list[BatchItemResult]
    counts: BatchCounts


def _problem(exc: AppError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + exc.type_slug,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
    }
    if exc.errors is not None:
        body["errors"] = exc.errors
    body.update(exc.extra)
    return body


def _render(results: list[batch.ItemResult]) -> dict[str, Any]:
    items = []
    counts = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
    for r in results:
        counts[r.outcome] += 1
        item: dict[str, Any] = {
            "index": r.index,
            "external_ref": r.external_ref,
            "result": r.outcome,
        }
        if r.object is not None:
            item.update(id=r.object["id"], version=r.object["version"])
        if r.error is not None:
            item["problem"] = _problem(r.error)
        items.append(item)
    return {"items": items, "counts": counts}


DESCRIPTION = """\
Creates or updates up to {max_items} {label} objects in one request, each keyed by its
`external_ref` (`{{"source", "id"}}`) as `PUT /v1/{collection}/by-ref/{{source}}/{{id}}`
would. Each item is the same document as that PUT's body, with its `external_ref`.

Every item gets a result in request order: `created`, `updated`, `unchanged` (the stored
object already had these fields: no new version, no change-feed entry) or `error` with a
problem. An item that fails is rolled back alone (a savepoint per item); the others are
committed together at the end of the request. Sending the same batch again gives
`unchanged` everywhere. More than {max_items} items, or an item that is not an object, is
422 and applies nothing; a body over 5 MiB is 413.

References are resolved within the key's secretariat (an admin key names it with
`?secretariat=`, required for it).
"""


def _add_route(spec: batch.BatchResource[Any]) -> None:
    body_model: Any = _body_model(spec)

    async def batch_upsert(
        request: Request,
        body: InputModel,
        session: SessionDep,
        key: WriteKey,
        settings: SettingsDep,
        secretariat: RefOwner = None,
    ) -> Response:
        owner = reference_owner(key, secretariat)

        async def produce() -> Response:
            results = await batch.upsert_many(session, key, spec, body.items, owner)  # type: ignore[attr-defined]
            return json_response(_render(results))

        return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)

    # The body's model is made for this resource (the annotation above stands for it).
    batch_upsert.__annotations__["body"] = body_model
    label = spec.resource.label
    router.add_api_route(
        f"/{spec.collection}:batch-upsert",
        batch_upsert,
        methods=["POST"],
        name=f"batch_upsert_{spec.collection}",
        summary=f"Create or update many {spec.collection} by external reference",
        description=DESCRIPTION.format(
            max_items=batch.MAX_ITEMS, label=label, collection=spec.collection
        ),
        response_model=BatchUpsertResult,
        responses={
            **problems(),
            413: {**problems()[413], "description": "A body over 5 MiB"},
        },
    )


for _spec in BATCHES:
    _add_route(_spec)
