"""One pure-ASGI middleware: request id, body size limit, metrics and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem_response
from shared.batch import MAX_BODY_BYTES as BATCH_MAX_BODY_BYTES
from shared.logging import request_id_var
from shared.metrics import add_process_collectors

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


def route_label(scope: Scope, root_path: str = "") -> str:
    """The route's full template (`/v1/activities/{activity_id}`), a mount's path for static
    files, the path of the docs' own routes, or `unmatched` (404s: unbounded paths)."""
    route = scope.get("route")
    if route is not None:
        # An included router's route knows its path below the prefix (`/activities`); the
        # prefix is what of the request's path lies before the part the route matched.
        path = scope["path"]
        for cut in range(len(path)):
            if path[cut] == "/" and route.path_regex.fullmatch(path[cut:]):
                return f"{path[:cut]}{route.path}"
        return str(route.path)
    # Matched again as the request arrived: a mount rewrites root_path while it handles one.
    arrived = {"type": "http", "path": scope["path"], "root_path": root_path, "method": "GET"}
    for candidate in getattr(scope.get("app"), "routes", ()):
        match, _ = candidate.matches(arrived)
        template = getattr(candidate, "path", None)
        if match is Match.FULL and template:
            return str(template)
    return "unmatched"


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
        root_path = scope.get("root_path", "")
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
            template = route_label(scope, root_path)
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
