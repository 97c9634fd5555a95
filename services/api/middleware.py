"""One pure-ASGI middleware: request id, body size limit, metrics and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem_response
from shared.batch import MAX_BODY_BYTES as BATCH_MAX_BODY_BYTES
from shared.logging import request_id_var

log = logging.getLogger("tandem.access")

MAX_BODY_BYTES = 1024 * 1024
# Bulk sync routes (`POST /v1/<collection>:batch-upsert`) take up to 5 MiB; no other route does.
LARGE_BODY_SUFFIX = ":batch-upsert"
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class Metrics:
    """Prometheus collectors of one app (own registry, so tests can make many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )


class EdgeMiddleware:
    """Tags each request with an id, refuses bodies over 1 MiB (5 MiB for batch upserts),
    counts and logs it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    def body_limit(self, path: str) -> int:
        """The largest body a request to `path` may carry."""
        if path.endswith(LARGE_BODY_SUFFIX):
            return max(self.max_body, BATCH_MAX_BODY_BYTES)
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        length = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                request_id = candidate if _REQUEST_ID_OK.match(candidate) else None
            elif name == b"content-length":
                length = value
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        rid_header = (b"x-request-id", request_id.encode())
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        received = 0
        max_body = self.body_limit(scope["path"])

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise _BodyTooLarge
            return message

        try:
            if length is not None and (not length.isdigit() or int(length) > max_body):
                raise _BodyTooLarge
            await self.app(scope, receive_wrapper, send_wrapper)
        except _BodyTooLarge:
            if response_started:
                raise
            response = problem_response(413, f"The request body is larger than {max_body} bytes.")
            await response(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": template,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)
