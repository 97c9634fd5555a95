"""One pure-ASGI middleware at the edge: request id, load shedding, rate limits, the API key
(checked before one byte of the body is read), the body size limit, security headers, the
last word on unhandled errors, metrics and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.auth import MISSING_KEY, UNKNOWN_KEY, KeyCache, SessionMaker, bearer_token
from services.api.problems import problem_response, unhandled_response
from services.api.ratelimit import RateLimiter, Refusal
from shared.batch import MAX_BODY_BYTES as BATCH_MAX_BODY_BYTES
from shared.logging import request_id_var
from shared.metrics import add_process_collectors

log = logging.getLogger("tandem.access")

MAX_BODY_BYTES = 1024 * 1024
# Bulk sync routes (`POST /v1/<collection>:batch-upsert`) take up to 5 MiB from a key with the
# `write` scope; no other route or key does.
LARGE_BODY_SUFFIXES = (":batch-upsert", "/taxa:import")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and metrics are answered even when the process is past its concurrency limit.
_UNSHED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_V1_HEADERS = [(b"x-content-type-options", b"nosniff")]
_NO_STORE = (b"cache-control", b"no-store")
_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="tandem"'}


class _BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class Metrics:
    """Prometheus collectors of one app (own registry, so tests can make many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        add_process_collectors(self.registry)
        self.requests = Counter(
            "tandem_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tandem_http_request_duration_seconds",
            "HTTP request latency by route template and method",
            ["route", "method"],
            # A 1,000-item batch upsert takes about 10 s: the buckets reach a minute.
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.fast_path = Counter(
            "tandem_http_fast_path_requests",
            "Requests answered by a route's fast path (services/api/fastpath.py), by operation",
            ["operation"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "tandem_rate_limited",
            "Requests refused at the edge for load: reason key, address or overload",
            ["reason"],
            registry=self.registry,
        )


class RouteLabels:
    """Request path -> the template of the route it reaches (`/v1/activities/{activity_id}`),
    a mount's path for static files, or `unmatched` (404s: unbounded paths), for metrics and
    the access log. Requests refused at the edge never reach the router, and their label must
    not cost a second routing pass: templates are grouped by their first two path segments,
    so a label is one dict lookup and a few regular expressions."""

    def __init__(self) -> None:
        self._by_head: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        self._anywhere: list[tuple[re.Pattern[str], str]] = []
        self._mounts: list[str] = []

    def add_route(self, template: str) -> None:
        """A route's full template, in routing order."""
        regex, _, _ = compile_path(template)
        head = _head(template)
        bucket = self._anywhere if "{" in head else self._by_head.setdefault(head, [])
        if all(t != template for _, t in bucket):
            bucket.append((regex, template))

    def add_mount(self, prefix: str) -> None:
        """A mounted app (static files): every path below it has the mount's label."""
        self._mounts.append(prefix.rstrip("/"))

    def label(self, scope: Scope) -> str:
        path: str = scope["path"]
        for regex, template in (*self._by_head.get(_head(path), ()), *self._anywhere):
            if regex.match(path):
                return template
        for prefix in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                return prefix
        # A route added to the app after the labels were made, which the router matched.
        route = scope.get("route")
        return str(route.path) if route is not None else "unmatched"


def _head(path: str) -> str:
    """`/v1/activities` of `/v1/activities/{activity_id}/history`."""
    return "/".join(path.split("/", 3)[:3])


class EdgeMiddleware:
    """Everything a request meets before its route: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        labels: RouteLabels,
        key_cache: KeyCache,
        limiter: RateLimiter | None = None,
        max_concurrent: int = 256,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.labels = labels
        self.key_cache = key_cache
        self.limiter = limiter
        self.max_concurrent = max_concurrent
        self.max_body = max_body
        self.in_flight = 0
        self.policy_header = (
            (b"ratelimit-policy", limiter.policies().encode())
            if limiter is not None and limiter.policies()
            else None
        )

    def body_limit(self, path: str, may_write: bool) -> int:
        """The largest body a request to `path` may carry."""
        if may_write and path.endswith(LARGE_BODY_SUFFIXES):
            return max(self.max_body, BATCH_MAX_BODY_BYTES)
        return self.max_body

    async def admit(self, scope: Scope) -> tuple[Any, int]:
        """For a `/v1` request: a refusal response, or None and the body limit. The key is
        resolved here and left in `scope["state"]` for the route's scope dependency."""
        if self.limiter is not None and scope.get("client"):
            refusal = await self.limiter.check_address(scope["client"][0])
            if refusal is not None:
                return self._too_many(refusal), 0
        token = bearer_token(scope["headers"])
        if token is None:
            return problem_response(401, MISSING_KEY, headers=_WWW_AUTHENTICATE), 0
        sessions: SessionMaker = scope["app"].state.read_session_factory
        principal = await self.key_cache.resolve(token, sessions)
        if principal is None:
            return problem_response(401, UNKNOWN_KEY, headers=_WWW_AUTHENTICATE), 0
        if self.limiter is not None:
            refusal = await self.limiter.check_key(str(principal.key_id))
            if refusal is not None:
                return self._too_many(refusal), 0
        scope.setdefault("state", {})["principal"] = principal
        return None, self.body_limit(scope["path"], principal.has_scope("write"))

    def _too_many(self, refusal: Refusal) -> Any:
        self.metrics.rate_limited.labels(refusal.policy).inc()
        detail = (
            f"Too many requests for this {'API key' if refusal.policy == 'key' else 'address'}:"
            f" {refusal.quota} per {refusal.window} s. Try again in {refusal.retry_after} s."
        )
        return problem_response(429, detail, headers=refusal.headers())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        length = None
        has_body = False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                request_id = candidate if _REQUEST_ID_OK.match(candidate) else None
            elif name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                has_body = True
        request_id = request_id or uuid.uuid4().hex
        has_body = has_body or (length is not None and length != b"0")
        token = request_id_var.set(request_id)
        path: str = scope["path"]
        v1 = path.startswith("/v1/")
        extra_headers = [(b"x-request-id", request_id.encode())]
        if v1:
            extra_headers += _V1_HEADERS
            if self.policy_header is not None:
                extra_headers.append(self.policy_header)
        status = 500
        response_started = False
        too_large = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if too_large and not response_started:
                # The route saw a body cut short (FastAPI calls that a parse error): the answer
                # is the 413 sent below, not whatever the route made of it.
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in extra_headers if h[0] not in present]
                if v1 and b"cache-control" not in present:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        received = 0
        max_body = self.max_body

        async def receive_wrapper() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    too_large = True
                    raise _BodyTooLarge
            return message

        counted = False
        try:
            refusal: Any = None
            if v1:
                refusal, max_body = await self.admit(scope)
            # Only requests that go on to their route count against the limit: a refusal at
            # the edge is cheaper than the 503 would be.
            if refusal is None and path not in _UNSHED_PATHS:
                counted = True
                self.in_flight += 1
                if self.in_flight > self.max_concurrent:
                    self.metrics.rate_limited.labels("overload").inc()
                    refusal = problem_response(
                        503,
                        "The server is busy; try again in a second.",
                        headers={"Retry-After": "1"},
                    )
            if refusal is not None:
                if has_body:
                    # The body is never read: hang up after the answer rather than take in
                    # (and throw away) what the client still sends.
                    refusal.headers["Connection"] = "close"
                await refusal(scope, receive, send_wrapper)
            else:
                if length is not None and (not length.isdigit() or int(length) > max_body):
                    too_large = True
                    raise _BodyTooLarge
                await self.app(scope, receive_wrapper, send_wrapper)
                if too_large:
                    raise _BodyTooLarge
        except _BodyTooLarge:
            if response_started:
                raise
            too_large = False
            response = problem_response(
                413,
                f"The request body is larger than {max_body} bytes.",
                headers={"Connection": "close"},
            )
            await response(scope, receive, send_wrapper)
        except Exception as exc:
            if response_started:
                raise
            await unhandled_response(exc, self.labels.label(scope))(scope, receive, send_wrapper)
        finally:
            if counted:
                self.in_flight -= 1
            elapsed = time.perf_counter() - started
            template = self.labels.label(scope)
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": path,
                        "route": template,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)
