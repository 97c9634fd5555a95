"""The OpenAPI document, made exact in one place after FastAPI has built it.

FastAPI knows each route's parameters and bodies; what the HTTP conventions add on top of
them (services/api/conventions.py, the edge middleware) is declared here, from what each
route function does:

- a route that calls `idempotent` takes `Idempotency-Key`; one that calls
  `expected_version` takes `If-Match` (strong comparison); a GET answering 304 takes
  `If-None-Match` (weak comparison); a route that answers with `object_response` or
  `created_response` sends `ETag`, and a 201 sends `Location`;
- every response carries `X-Request-ID`; every route may answer 500 and 503 (with
  `Retry-After`), every `/v1` route 429 (with `Retry-After`, `RateLimit`, `RateLimit-Policy`);
- a PATCH body is `application/merge-patch+json` (plain `application/json` is accepted too);
- every enumeration is one named component (`Kind`, not one inline copy per use);
- a string path or query parameter without a pattern says it holds no control characters,
  as `deps.refuse_control_characters` enforces.

What a route function calls is read from its code object's names (`co_names`): the
conventions are plain functions, so calling one is what makes a route follow it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, get_args

from fastapi import APIRouter
from fastapi.routing import APIRoute

from services.api.routers.changes import ChangeOp, ChangeType
from services.api.routers.workload_requests import CandidateReason
from shared.activities.schemas import ActivityStatus, Theme
from shared.batch import Outcome
from shared.keys.schemas import Scope
from shared.meetings.schemas import MeetingStatus
from shared.stats.schemas import HelperStatus, SupportMode
from shared.support.allocations.schemas import AllocationStatus
from shared.support.offers.schemas import OfferStatus
from shared.support.requests.schemas import Kind, Priority, RequestStatus
from shared.types import LINE_PATTERN
from shared.webhooks.schemas import AttemptOutcome, DeliveryStatus, EventType

# Each enumeration of the contract under its name; an inline enum with the same values in
# the generated document becomes a $ref to it.
ENUMS: dict[str, Any] = {
    "Kind": Kind,
    "Priority": Priority,
    "WorkloadRequestStatus": RequestStatus,
    "CapacityOfferStatus": OfferStatus,
    "AllocationStatus": AllocationStatus,
    "Theme": Theme,
    "ActivityStatus": ActivityStatus,
    "MeetingStatus": MeetingStatus,
    "EventType": EventType,
    "Scope": Scope,
    "BatchOutcome": Outcome,
    "ChangeType": ChangeType,
    "ChangeOperation": ChangeOp,
    "CandidateReason": CandidateReason,
    "DeliveryAttemptOutcome": AttemptOutcome,
    "DeliveryStatus": DeliveryStatus,
    "HelperStatus": HelperStatus,
    "SupportMode": SupportMode,
}

IF_MATCH_PATTERN = r'^(\*|"[0-9]{1,18}")$'
IF_NONE_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,18}"( *, *(W/)?"[0-9]{1,18}")*)$'
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
MERGE_PATCH = "application/merge-patch+json"

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _header(description: str, *, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "description": description,
        "required": required,
        "schema": {"type": "string", **schema},
    }


REQUEST_ID = _header("The request's id (the caller's X-Request-ID, else a new one)", required=True)
RETRY_AFTER = _header("Seconds to wait before trying again", pattern=r"^[0-9]+$")
ETAG = _header("The object's version as a strong entity tag", pattern=r'^"[0-9]+"$')
LOCATION = _header("Path of the new object")
RATE_LIMIT = _header("The remaining quota and when it resets (IETF RateLimit header fields)")
RATE_LIMIT_POLICY = _header("The quota this client is held to (IETF RateLimit header fields)")

EXTRA_PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "429": (
        "Too many requests for this key or client address",
        {
            "Retry-After": RETRY_AFTER,
            "RateLimit": RATE_LIMIT,
            "RateLimit-Policy": RATE_LIMIT_POLICY,
        },
    ),
    "500": ("An unexpected error; it is logged under the X-Request-ID", {}),
    "503": ("The process is at its concurrency limit; try again", {"Retry-After": RETRY_AFTER}),
}


def _parameter(name: str, description: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", "pattern": pattern},
    }


IDEMPOTENCY_KEY = _parameter(
    "Idempotency-Key",
    "Sent again with the same body, the first response is returned again and nothing new is "
    "made; with another body, 422",
    IDEMPOTENCY_KEY_PATTERN,
)
IF_MATCH = _parameter(
    "If-Match",
    "The ETag of the version the change applies to; another version (or a weak tag) is 412",
    IF_MATCH_PATTERN,
)
IF_NONE_MATCH = _parameter(
    "If-None-Match",
    "ETags the caller holds; 304 when one names the current version",
    IF_NONE_MATCH_PATTERN,
)


def _calls(route: APIRoute) -> frozenset[str]:
    return frozenset(route.endpoint.__code__.co_names)


def routes_of(routers: Iterable[tuple[str, APIRouter]]) -> dict[tuple[str, str], APIRoute]:
    """(path, lower-case method) -> route, for routers included under a prefix."""
    out: dict[tuple[str, str], APIRoute] = {}
    for prefix, router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods or ():
                    out[(prefix + route.path, method.lower())] = route
    return out


def refine(document: dict[str, Any], routes: dict[tuple[str, str], APIRoute]) -> dict[str, Any]:
    """The document with the conventions' headers, statuses, media types and named enums."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            route = routes.get((path, method))
            calls = _calls(route) if route is not None else frozenset()
            _headers_in(operation, method, calls)
            _responses(operation, path, calls)
            if method == "patch":
                _merge_patch(operation)
            for parameter in operation.get("parameters", []):
                if parameter["in"] in {"path", "query"}:
                    _no_control_characters(parameter["schema"])
    _name_enums(document)
    return document


def _headers_in(operation: dict[str, Any], method: str, calls: frozenset[str]) -> None:
    parameters = operation.setdefault("parameters", [])
    if "idempotent" in calls:
        parameters.append(IDEMPOTENCY_KEY)
    if "expected_version" in calls:
        parameters.append(IF_MATCH)
    if method == "get" and "304" in operation.get("responses", {}):
        parameters.append(IF_NONE_MATCH)
    if not parameters:
        del operation["parameters"]


def _responses(operation: dict[str, Any], path: str, calls: frozenset[str]) -> None:
    responses = operation.setdefault("responses", {})
    for status, (description, headers) in EXTRA_PROBLEMS.items():
        if status == "429" and not path.startswith("/v1/"):
            continue
        responses.setdefault(status, {"description": description, "content": _PROBLEM})
        responses[status]["headers"] = dict(headers)
    sends_etag = bool(calls & {"object_response", "created_response"})
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = REQUEST_ID
        if path.startswith("/v1/"):
            headers.setdefault("RateLimit-Policy", RATE_LIMIT_POLICY)
        if sends_etag and (status.startswith("2") or status == "304"):
            headers["ETag"] = {**ETAG, "required": status in {"200", "201", "304"}}
        if status == "201" and sends_etag:
            headers["Location"] = {**LOCATION, "required": True}


def _merge_patch(operation: dict[str, Any]) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = content.pop("application/json")
        content[MERGE_PATCH] = body
        content["application/json"] = copy.deepcopy(body)


def _no_control_characters(schema: dict[str, Any]) -> None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(
            branch
        ):
            branch["pattern"] = LINE_PATTERN


def _name_enums(document: dict[str, Any]) -> None:
    by_values = {frozenset(get_args(kind)): name for name, kind in ENUMS.items()}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    used: set[str] = set()

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("enum"), list):
            name = by_values.get(frozenset(node["enum"]))
            if name is not None:
                used.add(name)
                rest = {k: v for k, v in node.items() if k not in {"enum", "type"}}
                return {"$ref": f"#/components/schemas/{name}", **rest}
        return {key: visit(value) for key, value in node.items()}

    document["paths"] = visit(document["paths"])
    for key in list(schemas):
        schemas[key] = visit(schemas[key])
    for name in used:
        schemas[name] = {"type": "string", "enum": list(get_args(ENUMS[name])), "title": name}


def unique_operation_ids(document: dict[str, Any]) -> None:
    """Raise if two operations share an id (a generated client would lose one of them)."""
    seen: dict[str, str] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            ident = operation["operationId"]
            if ident in seen:
                raise RuntimeError(f"operationId {ident} names {seen[ident]} and {method} {path}")
            seen[ident] = f"{method} {path}"
