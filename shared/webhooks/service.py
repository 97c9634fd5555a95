"""Webhook subscriptions: who hears which events, where, and what became of each delivery.

Secrets are stored as issued, not hashed: unlike an API key, which only has to be
recognised, a signing secret must be used, by the worker, to compute an HMAC. Encrypting
it with a key held by the same processes (in the same environment as DATABASE_URL) would
protect a stolen database dump only, at the price of key management and rotation; the
dump is better protected as a whole (database access control, encrypted backups). The
secret is shown once, in the response that creates the subscription, never listed, never
logged, and a leaked one is replaced by deleting the subscription and creating another.

Target URLs (SSRF): https on port 443 only, except hosts on WEBHOOK_ALLOWED_HOSTS, which
may use http, any port and private addresses (local development, tests, receivers inside
the organisation). Any other host must resolve only to ordinary public addresses: every
range of the IANA IPv4 and IPv6 special-purpose registries (loopback, link-local and cloud
metadata, private, shared, benchmarking, documentation, multicast, reserved, 6to4, NAT64,
Teredo...) is refused by an explicit list, not by `ipaddress.is_global`, whose answer has
changed between Python patch releases; an IPv6 address that embeds an IPv4 one (mapped,
6to4, NAT64) is also judged by the embedded address. Refused with 422 when the
subscription is written, and checked again at every delivery (DNS may change), where the
request is then sent to the very address that was checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.errors import NotFound, Unprocessable
from shared.models import WebhookSubscription
from shared.pagination import decode_cursor, encode_cursor, split_page
from shared.schemas import validate_document
from shared.webhooks import repository, signing
from shared.webhooks.schemas import WebhookCreate

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A webhook URL that Tandem will not call."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: the URL, and for hosts not allow-listed the checked address."""

    url: str
    host: str
    port: int
    address: IpAddress | None  # None: allow-listed host, connect as the URL says


# IANA IPv4 Special-Purpose Address Registry, plus multicast and the reserved block.
REFUSED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # this network
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",  # limited broadcast
    )
)
# IANA IPv6 Special-Purpose Address Registry, plus multicast.
REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "::/96",  # IPv4-compatible (deprecated), which holds both above
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64 well-known prefix
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID...)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_refused_address(ip: IpAddress) -> bool:
    """True when `ip`, or the IPv4 address it embeds, lies in a special-purpose range."""
    if isinstance(ip, ipaddress.IPv4Address):
        return any(ip in net for net in REFUSED_V4)
    inner = embedded_ipv4(ip)
    if inner is not None and is_refused_address(inner):
        return True
    return any(ip in net for net in REFUSED_V6)


async def _resolve(host: str, port: int) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_target(url: str, allowed_hosts: frozenset[str]) -> Target:
    """The target of `url`, or TargetRefused saying why Tandem will not call it.

    Raises OSError when the host name does not resolve (a network condition at delivery).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"{url!r} is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in {"https", "http"} or not host:
        raise TargetRefused("The URL must be an absolute https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("The URL must not carry credentials; use the signature instead.")
    if parts.fragment:
        raise TargetRefused("The URL must not have a #fragment.")
    if port == 0:
        raise TargetRefused("The URL names port 0, which no receiver listens on.")
    port = port or (443 if scheme == "https" else 80)
    if host in allowed_hosts:
        return Target(url, host, port, None)
    if scheme != "https":
        raise TargetRefused(
            f"The URL must use https (http is only for hosts in WEBHOOK_ALLOWED_HOSTS; "
            f"{host} is not one)."
        )
    if port != 443:
        raise TargetRefused(
            f"The URL must use port 443 (other ports are only for hosts in "
            f"WEBHOOK_ALLOWED_HOSTS; {host} is not one)."
        )
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(host, port)
    refused = sorted({str(a) for a in addresses if is_refused_address(a)})
    if refused or not addresses:
        raise TargetRefused(
            f"{host} resolves to {', '.join(refused) or 'no address'}: a special-purpose "
            "address (loopback, link-local, private, shared, documentation, multicast, "
            "reserved, or an IPv6 form of one), which webhooks may not reach unless the host "
            "is in WEBHOOK_ALLOWED_HOSTS."
        )
    return Target(url, host, port, addresses[0])


async def _validate_url(url: str, allowed_hosts: frozenset[str]) -> None:
    """422 naming why the URL is refused."""
    try:
        await check_target(url, allowed_hosts)
    except TargetRefused as exc:
        raise _url_problem(str(exc)) from exc
    except OSError as exc:
        host = urlsplit(url).hostname
        raise _url_problem(f"The host {host} does not resolve ({exc.strerror or exc}).") from exc


def _url_problem(message: str) -> Unprocessable:
    return Unprocessable(
        message,
        type_slug="webhook-url-refused",
        errors=[{"field": "body.url", "message": message, "type": "url_refused"}],
    )


def to_api(sub: WebhookSubscription) -> dict[str, Any]:
    """A subscription as the API shows it (never its secret)."""
    return {
        "id": sub.id,
        "url": sub.url,
        "events": sub.events,
        "description": sub.description,
        "enabled": sub.enabled,
        "disabled_at": sub.disabled_at,
        "disabled_reason": sub.disabled_reason,
        "failing_since": sub.failing_since,
        "version": sub.version,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }


async def create(
    session: AsyncSession, data: WebhookCreate, allowed_hosts: frozenset[str]
) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL to events; returns the subscription and its new secret."""
    await _validate_url(data.url, allowed_hosts)
    secret = signing.new_secret()
    sub = WebhookSubscription(
        url=data.url,
        events=list(data.events),
        description=data.description,
        enabled=data.enabled,
        secret=secret,
    )
    if not data.enabled:
        sub.disabled_at = datetime.now(UTC)
        sub.disabled_reason = "Created disabled."
    await repository.add(session, sub)
    return sub, secret


async def get(session: AsyncSession, webhook_id: uuid.UUID, *, lock: bool = False) -> Any:
    """One subscription, or NotFound."""
    sub = await repository.get(session, webhook_id, lock=lock)
    if sub is None:
        raise NotFound(f"No webhook subscription {webhook_id}.")
    return sub


async def list_subscriptions(
    session: AsyncSession, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of subscriptions in creation order."""
    rows = await repository.page(session, cursor, limit)
    page, next_cursor = split_page(rows, limit, lambda s: (s.created_at.isoformat(), str(s.id)))
    return [to_api(s) for s in page], next_cursor


def _writable(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "url": sub.url,
        "events": list(sub.events),
        "description": sub.description,
        "enabled": sub.enabled,
    }


async def patch(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    patch_doc: dict[str, Any],
    expected_version: int | None,
    allowed_hosts: frozenset[str],
) -> WebhookSubscription:
    """Apply a JSON merge patch of url, events, description, enabled."""
    sub = await get(session, webhook_id, lock=True)
    crud.check_version(_RESOURCE, sub, expected_version)
    data = validate_document(WebhookCreate, crud.merge_patch(_writable(sub), patch_doc))
    if data.url != sub.url:
        await _validate_url(data.url, allowed_hosts)
    now = datetime.now(UTC)
    changed = {k: v for k, v in _writable_of(data).items() if getattr(sub, k) != v}
    if not changed:
        return sub
    for key, value in changed.items():
        setattr(sub, key, value)
    if "enabled" in changed and data.enabled:
        sub.disabled_at = sub.disabled_reason = sub.failing_since = None
    elif "enabled" in changed:
        await disable(session, sub, "Disabled by an administrator.", now)
    sub.version += 1
    sub.updated_at = now
    await session.flush()
    return sub


def _writable_of(data: WebhookCreate) -> dict[str, Any]:
    return {
        "url": data.url,
        "events": list(data.events),
        "description": data.description,
        "enabled": data.enabled,
    }


async def disable(
    session: AsyncSession, sub: WebhookSubscription, reason: str, now: datetime
) -> None:
    """Stop delivering to a subscription; its pending deliveries fail with the reason."""
    sub.enabled = False
    sub.disabled_at = now
    sub.disabled_reason = reason
    await repository.fail_pending(session, sub.id, reason, now)


async def delete(
    session: AsyncSession, webhook_id: uuid.UUID, expected_version: int | None
) -> None:
    """Remove a subscription with its deliveries and their log."""
    sub = await get(session, webhook_id, lock=True)
    crud.check_version(_RESOURCE, sub, expected_version)
    await repository.remove(session, sub)


async def list_attempts(
    session: AsyncSession, webhook_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a subscription's delivery attempts, newest first."""
    await get(session, webhook_id)
    before = decode_cursor(cursor, (int,))[0] if cursor else None
    rows = await repository.attempts_before(session, webhook_id, before, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return rows[:limit], next_cursor


_RESOURCE: crud.Resource[WebhookSubscription] = crud.Resource(
    "webhook", "webhook subscription", "/v1/webhooks", WebhookSubscription, to_api
)
