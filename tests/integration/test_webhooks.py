"""Webhooks: subscriptions, SSRF refusals, signed ordered deliveries by the real worker,
retries after 5xx (and none after 4xx), disabling after 24 h of failures, pings."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import random
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import queue
from shared.activities import service as activities
from shared.activities.schemas import ActivityWrite
from shared.db import session_scope
from shared.models import WebhookDelivery, WebhookSubscription
from shared.policy import Principal
from shared.webhooks import delivery, service
from tests.factories import Keys, activity_body, create, units
from tests.integration.conftest import Received, Receiver
from tests.support.factories import offer_body, post, request_body

ADMIN = Principal(uuid.uuid4(), "test-admin", None, frozenset({"admin"}))


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of Standard Webhooks, written here from the specification."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


async def _subscribe(
    client: httpx.AsyncClient, keys: Keys, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks",
        json={"url": url, "events": events or ["activity.changed"], "description": "test"},
        headers=keys.admin,
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def _delivered(requests: list[Received]) -> list[Received]:
    return [r for r in requests if r.status == 200]


async def _wait(receiver: Receiver, predicate: Any, seconds: float) -> None:
    ok = await asyncio.to_thread(receiver.wait_for, predicate, seconds)
    assert ok, [(r.status, r.headers.get("webhook-id")) for r in receiver.snapshot()]


async def test_every_event_is_delivered_once_signed_in_order_and_again_after_a_500(
    hooks_client: httpx.AsyncClient,
    keys: Keys,
    receiver: Receiver,
    hooks_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    receiver.answer = lambda n, headers, body: 500 if n == 0 else 200
    sub = await _subscribe(hooks_client, keys, receiver.url)
    secret = sub["secret"]

    a = await create(hooks_client, "/v1/activities", activity_body(title="Elephants"), keys.cms)
    b = await create(hooks_client, "/v1/activities", activity_body(title="Sharks"), keys.cms)
    c = await create(hooks_client, "/v1/activities", activity_body(title="Saiga"), keys.cms)
    patched = await hooks_client.patch(
        f"/v1/activities/{a['id']}", json={"status": "completed"}, headers=keys.cms
    )
    assert patched.status_code == 200
    deleted = await hooks_client.delete(f"/v1/activities/{b['id']}", headers=keys.cms)
    assert deleted.status_code == 204
    expected = [
        (a["id"], "create", 1),
        (b["id"], "create", 1),
        (c["id"], "create", 1),
        (a["id"], "update", 2),
        (b["id"], "delete", 2),
    ]

    await _wait(receiver, lambda rs: len(_delivered(rs)) >= len(expected), seconds=45)
    await asyncio.sleep(6)  # one more sweep and retry window: nothing else may arrive
    requests = receiver.snapshot()

    for r in requests:
        assert verify_signature(secret, r.headers, r.body), r.headers
        assert r.headers["content-type"] == "application/json"
    assert not verify_signature(
        "whsec_" + base64.b64encode(b"x" * 32).decode(), requests[0].headers, requests[0].body
    )

    delivered = _delivered(requests)
    bodies = [orjson.loads(r.body) for r in delivered]
    assert [(d["data"]["id"], d["data"]["op"], d["data"]["version"]) for d in bodies] == expected
    assert all(d["type"] == "activity.changed" for d in bodies)
    assert [r.headers["webhook-id"] for r in delivered] == [d["id"] for d in bodies]
    assert len({d["id"] for d in bodies}) == len(expected)  # each event once
    assert bodies[3]["data"]["activity"]["status"] == "completed"
    assert bodies[4]["data"]["activity"] is None

    # The first request got a 500; the same message came again, and only then the others.
    assert requests[0].status == 500
    assert requests[1].headers["webhook-id"] == requests[0].headers["webhook-id"]
    assert len(requests) == len(expected) + 1
    assert requests[1].at - requests[0].at >= delivery.FIRST_RETRY_SECONDS / 2 - 0.5

    log = await hooks_client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=keys.admin)
    assert log.status_code == 200
    attempts = list(reversed(log.json()["items"]))
    assert [(x["outcome"], x["status_code"]) for x in attempts] == [("retry", 500)] + [
        ("delivered", 200)
    ] * len(expected)
    assert attempts[0]["next_attempt_at"] is not None
    assert attempts[0]["message_id"] == attempts[1]["message_id"]
    assert attempts[0]["attempt"] == 1 and attempts[1]["attempt"] == 2
    assert all(x["delivery_status"] == "delivered" for x in attempts)
    page = await hooks_client.get(
        f"/v1/webhooks/{sub['id']}/deliveries", params={"limit": 4}, headers=keys.admin
    )
    rest = await hooks_client.get(
        f"/v1/webhooks/{sub['id']}/deliveries",
        params={"limit": 4, "cursor": page.json()["next_cursor"]},
        headers=keys.admin,
    )
    assert [x["id"] for x in page.json()["items"] + rest.json()["items"]] == [
        x["id"] for x in reversed(attempts)
    ]
    assert rest.json()["next_cursor"] is None

    shown = (await hooks_client.get(f"/v1/webhooks/{sub['id']}", headers=keys.admin)).json()
    assert shown["enabled"] is True and shown["failing_since"] is None
    worker_log = (tmp_path / "worker.log").read_text()
    assert "webhook attempt" in worker_log
    assert secret not in worker_log and secret.removeprefix("whsec_") not in worker_log


async def test_an_event_whose_nudge_was_lost_is_delivered_by_the_sweep(
    hooks_client: httpx.AsyncClient,
    keys: Keys,
    receiver: Receiver,
    hooks_worker: subprocess.Popen[bytes],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    sub = await _subscribe(hooks_client, keys, receiver.url)
    # Written and committed, but no job ever reaches Redis (as if it had been down).
    async with session_scope(session_factory) as session:
        made = await activities.create(session, ADMIN, ActivityWrite(**activity_body()))
        queue.take_pending(session)
    await _wait(receiver, lambda rs: len(rs) == 1, seconds=20)
    (request,) = receiver.snapshot()
    assert verify_signature(sub["secret"], request.headers, request.body)
    assert orjson.loads(request.body)["data"]["id"] == str(made["id"])


async def test_4xx_is_not_retried_and_later_events_still_go_out(
    hooks_client: httpx.AsyncClient,
    keys: Keys,
    receiver: Receiver,
    hooks_worker: subprocess.Popen[bytes],
) -> None:
    receiver.answer = lambda n, headers, body: 422 if n == 0 else 200
    sub = await _subscribe(hooks_client, keys, receiver.url)
    first = await create(hooks_client, "/v1/activities", activity_body(title="First"), keys.cms)
    second = await create(hooks_client, "/v1/activities", activity_body(title="Second"), keys.cms)
    await _wait(receiver, lambda rs: len(rs) >= 2, seconds=30)
    await asyncio.sleep(7)  # longer than the first retry delay plus a sweep
    requests = receiver.snapshot()
    assert [orjson.loads(r.body)["data"]["id"] for r in requests] == [first["id"], second["id"]]
    assert [r.status for r in requests] == [422, 200]
    log = (
        await hooks_client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=keys.admin)
    ).json()
    outcomes = [(x["outcome"], x["status_code"], x["delivery_status"]) for x in log["items"]]
    assert outcomes == [("delivered", 200, "delivered"), ("failed", 422, "failed")]
    assert "HTTP 422" in log["items"][1]["error"]


async def test_subscription_failing_for_24_hours_is_disabled_and_says_why(
    hooks_client: httpx.AsyncClient,
    keys: Keys,
    receiver: Receiver,
    hooks_worker: subprocess.Popen[bytes],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    receiver.answer = lambda n, headers, body: 503
    sub = await _subscribe(hooks_client, keys, receiver.url)
    # As if every delivery had failed since yesterday.
    async with session_scope(session_factory) as session:
        await session.execute(
            text("UPDATE webhook_subscription SET failing_since = now() - interval '25 hours'")
        )
    await create(hooks_client, "/v1/activities", activity_body(), keys.cms)

    async def disabled() -> dict[str, Any]:
        for _ in range(300):
            shown = (await hooks_client.get(f"/v1/webhooks/{sub['id']}", headers=keys.admin)).json()
            if not shown["enabled"]:
                return shown
            await asyncio.sleep(0.1)
        raise AssertionError("not disabled")

    shown = await disabled()
    assert "failed since" in shown["disabled_reason"]
    assert "503" in shown["disabled_reason"]
    assert shown["disabled_at"] is not None
    assert len(receiver.snapshot()) == 1
    # Nothing more is sent to a disabled subscription.
    await create(hooks_client, "/v1/activities", activity_body(title="Later"), keys.cms)
    await asyncio.sleep(3)
    assert len(receiver.snapshot()) == 1
    async with session_factory() as session:
        statuses = (await session.scalars(select(WebhookDelivery.status))).all()
    assert statuses == ["failed"]

    receiver.answer = lambda n, headers, body: 200
    enabled = await hooks_client.patch(
        f"/v1/webhooks/{sub['id']}", json={"enabled": True}, headers=keys.admin
    )
    assert enabled.status_code == 200
    assert enabled.json()["disabled_reason"] is None and enabled.json()["failing_since"] is None
    await create(hooks_client, "/v1/activities", activity_body(title="After the fix"), keys.cms)
    await _wait(receiver, lambda rs: any(r.status == 200 for r in rs), seconds=30)
    last = orjson.loads(receiver.snapshot()[-1].body)
    assert last["data"]["activity"]["title"] == "After the fix"


async def test_retries_stop_24_hours_after_the_first_attempt(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with session_scope(session_factory) as session:
        sub = WebhookSubscription(
            url="https://93.184.215.14/hook", events=["activity.changed"], secret="whsec_AA=="
        )
        session.add(sub)
        await session.flush()
        fresh = WebhookDelivery(
            subscription_id=sub.id, message_id="m1", event_type="activity.changed", payload={}
        )
        old = WebhookDelivery(
            subscription_id=sub.id,
            message_id="m2",
            event_type="activity.changed",
            payload={},
            attempts=20,
            first_attempt_at=now - timedelta(hours=23, minutes=59),
        )
        session.add_all([fresh, old])
        await session.flush()
        failure = delivery.AttemptResult(False, True, 502, "HTTP 502", 12)
        first = await delivery.record(session, sub, fresh, failure, now)
        last = await delivery.record(session, sub, old, failure, now)
    assert (first.outcome, fresh.status) == ("retry", "pending")
    assert fresh.next_attempt_at is not None
    assert timedelta(seconds=2.5) <= fresh.next_attempt_at - now <= timedelta(seconds=5)
    assert (last.outcome, old.status) == ("failed", "failed")
    assert sub.enabled  # failing for a minute only
    assert sub.failing_since == now and sub.version == 2


async def test_old_events_and_finished_deliveries_are_pruned(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(session_factory) as session:
        sub = WebhookSubscription(
            url="https://93.184.215.14/hook", events=["activity.changed"], secret="whsec_AA=="
        )
        session.add(sub)
        await session.flush()
        for age, status in ((40, "delivered"), (40, "pending"), (1, "delivered")):
            event_id = await session.scalar(
                text(
                    "INSERT INTO event (type, data, created_at, dispatched_at) VALUES "
                    "('activity.changed', '{}', now() - make_interval(days => :d), now()) "
                    "RETURNING id"
                ),
                {"d": age},
            )
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    event_id=event_id,
                    message_id=str(event_id),
                    event_type="activity.changed",
                    payload={},
                    status=status,
                    created_at=datetime.now(UTC) - timedelta(days=age),
                )
            )
    async with session_scope(session_factory) as session:
        assert await delivery.prune(session, retention_days=30) == 2
    async with session_factory() as session:
        left = (await session.execute(text("SELECT count(*) FROM event"))).scalar_one()
        deliveries = (await session.scalars(select(WebhookDelivery.status))).all()
    assert left == 1
    assert deliveries == ["delivered"]


def test_back_off_doubles_with_jitter_up_to_an_hour() -> None:
    rng = random.Random(1)
    for attempt in range(1, 40):
        step = min(3600.0, 5.0 * 2 ** (attempt - 1))
        delays = [delivery.retry_delay(attempt, rng) for _ in range(50)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len(set(delays)) > 1  # jitter
    # Retrying for 24 h takes a few dozen attempts, not thousands.
    elapsed, attempts = 0.0, 0
    while elapsed < 24 * 3600:
        attempts += 1
        elapsed += delivery.retry_delay(attempts, rng)
    assert 20 < attempts < 60


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",  # not https
        "ftp://93.184.215.14/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://224.0.0.1/hook",
        "https://203.0.113.5/hook",  # documentation range
        "https://user:secret@93.184.215.14/hook",
        "https://no-such-host.invalid/hook",
        "not a url at all",
        "https://93.184.215.14:99999/hook",
        "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "https://[2002:5db8:d70e::]/",  # 6to4: the prefix alone is refused
        "https://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "https://[::ffff:93.184.215.14]/",  # IPv4-mapped, even of a public address
        "https://[2001::1]/",  # Teredo
        "https://[2001:db8::1]/",  # documentation
        "https://[fe80::1]/",
        "https://[ff02::1]/",
        "https://192.0.0.8/",
        "https://192.0.2.1/",
        "https://198.18.0.1/",
        "https://198.51.100.7/",
        "https://192.88.99.1/",
        "https://240.0.0.1/",
        "https://255.255.255.255/",
        "https://example.org:22/",
        "https://example.org:0/",
        "https://93.184.215.14:8443/hook",
        "http://example.org/",
    ],
)
async def test_unsafe_webhook_urls_are_422(client: httpx.AsyncClient, keys: Keys, url: str) -> None:
    response = await client.post(
        "/v1/webhooks", json={"url": url, "events": ["activity.changed"]}, headers=keys.admin
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.url"
    assert (await client.get("/v1/webhooks", headers=keys.admin)).json()["items"] == []


def test_special_purpose_addresses_are_refused_by_list_and_public_ones_pass() -> None:
    """The verdict comes from the explicit list, whatever this Python's `is_global` says."""
    refused = [
        "0.1.2.3", "10.0.0.1", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.31.0.1",
        "192.0.0.8", "192.0.0.9", "192.0.2.1", "192.88.99.1", "192.168.0.1", "198.19.0.1",
        "198.51.100.1", "203.0.113.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "::", "::1", "::7f00:1", "::ffff:8.8.8.8", "64:ff9b::808:808",
        "64:ff9b:1::1", "100::1", "2001::1", "2001:db8::1", "2002:808:808::1", "fc00::1",
        "fd12::1", "fe80::1", "ff02::1",
    ]  # fmt: skip
    for address in refused:
        assert service.is_refused_address(ipaddress.ip_address(address)), address
    for address in ("93.184.215.14", "8.8.8.8", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"):
        assert not service.is_refused_address(ipaddress.ip_address(address)), address


async def test_allow_list_admits_http_and_loopback_only_for_its_hosts(
    client: httpx.AsyncClient, hooks_client: httpx.AsyncClient, keys: Keys, receiver: Receiver
) -> None:
    refused = await client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["activity.changed"]},
        headers=keys.admin,
    )
    assert refused.status_code == 422
    assert "WEBHOOK_ALLOWED_HOSTS" in refused.json()["detail"]
    accepted = await hooks_client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["activity.changed"]},
        headers=keys.admin,
    )
    assert accepted.status_code == 201
    public = await client.post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["allocation.accepted"]},
        headers=keys.admin,
    )
    assert public.status_code == 201, public.text
    to_private = await client.patch(
        f"/v1/webhooks/{public.json()['id']}", json={"url": "https://10.0.0.8/"}, headers=keys.admin
    )
    assert to_private.status_code == 422


async def test_delivery_time_check_refuses_a_host_no_longer_allowed(
    hooks_client: httpx.AsyncClient,
    keys: Keys,
    receiver: Receiver,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    sub = await _subscribe(hooks_client, keys, receiver.url)
    await create(hooks_client, "/v1/activities", activity_body(), keys.cms)
    async with httpx.AsyncClient() as http:
        # The allow-list has since been emptied: the worker must not call 127.0.0.1.
        done = await delivery.run(units(session_factory), http, frozenset())
    assert done == {"dispatched": 1, "attempts": 1}
    assert receiver.snapshot() == []
    log = (
        await hooks_client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=keys.admin)
    ).json()
    assert log["items"][0]["outcome"] == "failed"
    assert "127.0.0.1" in log["items"][0]["error"] and "refused" in log["items"][0]["error"]


async def test_subscription_lifecycle_and_secret_shown_once(
    hooks_client: httpx.AsyncClient, keys: Keys, receiver: Receiver
) -> None:
    made = await hooks_client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["allocation.accepted", "allocation.declined"]},
        headers=keys.admin,
    )
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    sub = made.json()
    assert sub["secret"].startswith("whsec_") and len(base64.b64decode(sub["secret"][6:])) == 32
    listed = (await hooks_client.get("/v1/webhooks", headers=keys.admin)).json()
    assert [s["id"] for s in listed["items"]] == [sub["id"]]
    assert "secret" not in listed["items"][0] and sub["secret"] not in str(listed)
    got = await hooks_client.get(f"/v1/webhooks/{sub['id']}", headers=keys.admin)
    assert "secret" not in got.json() and got.headers["etag"] == '"1"'

    stale = await hooks_client.patch(
        f"/v1/webhooks/{sub['id']}",
        json={"events": ["activity.changed"]},
        headers={**keys.admin, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    patched = await hooks_client.patch(
        f"/v1/webhooks/{sub['id']}",
        json={"events": ["activity.changed"], "enabled": False},
        headers={**keys.admin, "If-Match": '"1"'},
    )
    assert patched.status_code == 200
    assert patched.json()["events"] == ["activity.changed"]
    assert patched.json()["enabled"] is False and patched.json()["version"] == 2
    assert "administrator" in patched.json()["disabled_reason"]
    for bad in ({"events": ["whale.sighted"]}, {"events": []}, {"url": None}, {"secret": "x"}):
        response = await hooks_client.patch(
            f"/v1/webhooks/{sub['id']}", json=bad, headers=keys.admin
        )
        assert response.status_code == 422, bad
    for cs in ({"url": receiver.url, "events": ["activity.changed", "activity.changed"]},):
        assert (
            await hooks_client.post("/v1/webhooks", json=cs, headers=keys.admin)
        ).status_code == 422

    deleted = await hooks_client.delete(f"/v1/webhooks/{sub['id']}", headers=keys.admin)
    assert deleted.status_code == 204
    gone = await hooks_client.get(f"/v1/webhooks/{sub['id']}", headers=keys.admin)
    assert gone.status_code == 404
    missing = await hooks_client.get(f"/v1/webhooks/{uuid.uuid4()}/deliveries", headers=keys.admin)
    assert missing.status_code == 404


async def test_ping_is_sent_at_once_signed_and_logged(
    hooks_client: httpx.AsyncClient, keys: Keys, receiver: Receiver
) -> None:
    sub = await _subscribe(hooks_client, keys, receiver.url)
    pinged = await hooks_client.post(f"/v1/webhooks/{sub['id']}/test", headers=keys.admin)
    assert pinged.status_code == 200, pinged.text
    result = pinged.json()
    assert result["delivered"] is True and result["status_code"] == 200
    (request,) = receiver.snapshot()
    assert verify_signature(sub["secret"], request.headers, request.body)
    body = orjson.loads(request.body)
    assert body["type"] == "webhook.test" and body["id"] == request.headers["webhook-id"]
    log = (
        await hooks_client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=keys.admin)
    ).json()
    assert log["items"] == [result["attempt"] | {"attempted_at": log["items"][0]["attempted_at"]}]

    receiver.answer = lambda n, headers, body: 500
    failed = (await hooks_client.post(f"/v1/webhooks/{sub['id']}/test", headers=keys.admin)).json()
    assert failed["delivered"] is False and failed["status_code"] == 500
    shown = (await hooks_client.get(f"/v1/webhooks/{sub['id']}", headers=keys.admin)).json()
    assert shown["failing_since"] is None  # a ping does not count against the subscription


async def test_delivery_connects_to_the_checked_address_and_rechecks_dns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name is resolved and checked at each delivery, and the request goes to the address
    that passed (Host and TLS name unchanged); a name now resolving to a private address is
    refused without any request."""
    answers = {"hooks.example.org": ["93.184.215.14"]}

    async def resolve(host: str, port: int) -> list[Any]:
        import ipaddress

        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(service, "_resolve", resolve)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        ok = await delivery.send(
            http, "https://hooks.example.org/in?x=1", secret, "m1", b"{}", frozenset()
        )
        answers["hooks.example.org"] = ["10.0.0.7"]  # DNS now points inside
        refused = await delivery.send(
            http, "https://hooks.example.org/in?x=1", secret, "m2", b"{}", frozenset()
        )
    assert ok.delivered and ok.status_code == 204
    (request,) = seen
    assert request.url.host == "93.184.215.14" and request.url.port in (None, 443)
    assert request.url.raw_path == b"/in?x=1"
    assert request.headers["host"] == "hooks.example.org"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert verify_signature(secret, dict(request.headers), request.content)
    assert not refused.delivered and not refused.retryable
    assert "10.0.0.7" in (refused.error or "")


async def test_proposals_of_a_matching_run_reach_subscribers_well_before_the_sweep(
    hooks_client: httpx.AsyncClient,
    keys: Keys,
    receiver: Receiver,
    hooks_worker: subprocess.Popen[bytes],
) -> None:
    await _subscribe(hooks_client, keys, receiver.url, ["allocation.proposed"])
    await post(hooks_client, "/v1/capacity-offers", offer_body(), keys.cms)

    async def runs() -> list[dict[str, Any]]:
        page = await hooks_client.get("/v1/matching/runs", headers=keys.admin)
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    # The worker is up once the offer's run is done (nothing to propose yet).
    deadline = time.monotonic() + 90
    while not any(r["status"] == "succeeded" for r in await runs()):
        assert time.monotonic() < deadline, await runs()
        await asyncio.sleep(0.2)
    # The webhook sweep runs at seconds 1, 6, 11... of each minute: post the request just
    # after one, so that a delivery left to the sweep would come 4.6 s later at the earliest.
    await asyncio.sleep((1.3 - time.time()) % 5)
    posted = time.time()
    req = await post(hooks_client, "/v1/workload-requests", request_body(), keys.cites)

    await _wait(receiver, lambda rs: len(_delivered(rs)) >= 1, seconds=15)
    [proposed] = receiver.snapshot()
    body = orjson.loads(proposed.body)
    assert body["type"] == "allocation.proposed"
    assert body["data"]["request_id"] == req["id"]
    assert proposed.at - posted < 3.5, proposed.at - posted
    assert hooks_worker.poll() is None
