"""Webhook subscriptions (admin): signed, retried deliveries of events to other systems."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.auth import AdminKey
from services.api.conventions import expected_version, json_response, object_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import Cursor, Limit, page_response, problems
from shared.schemas import Page
from shared.webhooks import delivery, service
from shared.webhooks.schemas import (
    DeliveryAttemptRead,
    PingResult,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SIGNING = """\
Each delivery is a `POST` of `{"id", "type", "timestamp", "data"}` signed by the Standard
Webhooks scheme: headers `webhook-id` (the same on every retry: drop duplicates by it),
`webhook-timestamp` (Unix seconds) and `webhook-signature`
(`v1,` + base64 of HMAC-SHA256 keyed with the base64-decoded part of the secret after
`whsec_`, over `{webhook-id}.{webhook-timestamp}.{body}`). Answer 2xx quickly. Network
errors, timeouts and 5xx are retried with exponential back-off and jitter for up to 24 h;
other statuses are not retried (redirects are not followed). A subscription whose
deliveries have failed for 24 h is disabled (`disabled_reason` says why); PATCH
`enabled: true` turns it back on. Deliveries to one subscription go out in event order.
"""


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to events (the secret is shown once, in this response)",
    description=SIGNING
    + "\nThe URL must be https and resolve to a public address, unless its host is in "
    "WEBHOOK_ALLOWED_HOSTS (422 otherwise). Idempotency-Key is not honoured here: "
    "replaying the response would mean storing the secret twice.",
    response_model=WebhookCreated,
    responses=problems(),
)
async def create_webhook(
    body: WebhookCreate, session: SessionDep, _key: AdminKey, settings: SettingsDep
) -> Response:
    sub, secret = await service.create(session, body, settings.allowed_webhook_hosts)
    return json_response(
        {**service.to_api(sub), "secret": secret},
        201,
        {
            "Location": f"/v1/webhooks/{sub.id}",
            "ETag": f'"{sub.version}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "",
    summary="List webhook subscriptions",
    response_model=Page[WebhookRead],
    responses=problems(400),
)
async def list_webhooks(
    session: SessionDep, _key: AdminKey, cursor: Cursor = None, limit: Limit = 50
) -> Response:
    items, next_cursor = await service.list_subscriptions(session, cursor, limit)
    return page_response(items, next_cursor)


@router.get(
    "/{webhook_id}",
    summary="One webhook subscription",
    response_model=WebhookRead,
    responses=problems(304, 404),
)
async def get_webhook(
    request: Request, webhook_id: uuid.UUID, session: SessionDep, _key: AdminKey
) -> Response:
    return object_response(request, service.to_api(await service.get(session, webhook_id)))


@router.patch(
    "/{webhook_id}",
    summary="Change a webhook subscription (JSON merge patch: url, events, enabled)",
    response_model=WebhookRead,
    responses=problems(404, 412),
)
async def patch_webhook(
    request: Request,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    session: SessionDep,
    _key: AdminKey,
    settings: SettingsDep,
) -> Response:
    sub = await service.patch(
        session,
        webhook_id,
        body.model_dump(mode="json", exclude_unset=True),
        expected_version(request),
        settings.allowed_webhook_hosts,
    )
    return object_response(request, service.to_api(sub))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook subscription and its delivery log",
    responses=problems(404, 412),
)
async def delete_webhook(
    request: Request, webhook_id: uuid.UUID, session: SessionDep, _key: AdminKey
) -> Response:
    await service.delete(session, webhook_id, expected_version(request))
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    summary="Delivery attempts to a subscription, newest first",
    response_model=Page[DeliveryAttemptRead],
    responses=problems(400, 404),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    _key: AdminKey,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.list_attempts(session, webhook_id, cursor, limit)
    return page_response(items, next_cursor)


@router.post(
    "/{webhook_id}/test",
    summary="Send a signed `webhook.test` message now and report what the receiver answered",
    description="The ping is sent at once, ahead of any queued deliveries, also to a "
    "disabled subscription (to check a receiver before re-enabling it). It is logged with "
    "the deliveries but never retried and does not change the subscription's state.",
    response_model=PingResult,
    responses=problems(404),
)
async def ping_webhook(
    webhook_id: uuid.UUID, session: SessionDep, _key: AdminKey, settings: SettingsDep
) -> Response:
    sub = await service.get(session, webhook_id)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        outcome, attempt = await delivery.ping(session, client, sub, settings.allowed_webhook_hosts)
    return json_response(
        {
            "delivered": outcome.delivered,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
            "attempt": attempt,
        }
    )
