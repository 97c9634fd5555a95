"""Fast paths: the plainest form of the hottest requests, answered without FastAPI's routing
and dependency solving.

Under load, about half of a get's CPU went to the framework's fixed cost per request: the
router trying route after route, the request handler, solving the route's dependencies (an
AsyncExitStack per request) and the exception layers. This layer sits just inside the edge
(services/api/middleware.py: request id, limits, the key, the body limit), so every request
still meets all of that. For a few routes other systems call most, it answers the plain form
of a request itself, with the route's own service, session and response helpers (the routers
declare their fast routes beside the FastAPI routes they shadow).

Every other form goes on to the FastAPI route, which answers all of them and is what
/openapi.json documents: a key without the route's scope, a query parameter or value the fast
route does not take, a body that does not parse or validate (the route's 422 names the
fields), HEAD. A fast route answers only what its FastAPI route would answer the same way;
tests/api/test_fastpath.py sends the same requests both ways and compares the answers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import expected_error_response
from shared.policy import Principal

# The answer, or None to let the FastAPI route answer. Its parameters: the path's named
# groups and the query's parameters, as strings.
Handler = Callable[[Request, dict[str, str]], Awaitable[Response | None]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    """`method` on the paths `path` matches whole, for keys with `scope`: the plain form of
    the FastAPI route whose operation is `operation`."""

    operation: str
    method: str
    path: re.Pattern[str]
    scope: str
    handler: Handler
    # The body is read before the handler runs (after the key's scope is checked), and given
    # again to the FastAPI route when the handler declines.
    reads_body: bool = False
    # Query parameters the fast route takes, each at most once, with the values it takes
    # (whole match); any other query goes to the FastAPI route.
    query: Mapping[str, re.Pattern[str]] = field(default_factory=dict)


def parse_query(
    query_string: bytes, allowed: Mapping[str, re.Pattern[str]]
) -> dict[str, str] | None:
    """The query's parameters when each is one `allowed` takes, given once, with a value its
    pattern matches whole (so nothing percent-encoded); else None."""
    params: dict[str, str] = {}
    if not query_string:
        return params
    for part in query_string.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        pattern = allowed.get(name)
        if pattern is None or name in params or not pattern.fullmatch(value):
            return None
        params[name] = value
    return params


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` whole, then whatever the client sends next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class FastPaths:
    """Pure-ASGI layer answering the fast routes' requests (see the module docstring)."""

    def __init__(self, app: ASGIApp, routes: Sequence[FastRoute], answered: Counter) -> None:
        self.app = app
        self.routes: dict[str, list[FastRoute]] = {}
        for route in routes:
            self.routes.setdefault(route.method, []).append(route)
        # Requests each fast route answered itself, by operation.
        self.answered = {route.operation: answered.labels(route.operation) for route in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes.get(scope["method"], ()):
                match = route.path.fullmatch(scope["path"])
                if match is not None:
                    await self._serve(route, match, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self, route: FastRoute, match: re.Match[str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        principal = scope.get("state", {}).get("principal")
        query = parse_query(scope["query_string"], route.query)
        if (
            not isinstance(principal, Principal)
            or not principal.has_scope(route.scope)
            or query is None
        ):
            await self.app(scope, receive, send)
            return
        if route.reads_body:
            try:
                body = await Request(scope, receive).body()
            except ClientDisconnect:
                # Gone before its body arrived: the route says what it says to that.
                await self.app(scope, receive, send)
                return
            request = Request(scope, _replay(body, receive))
            receive = _replay(body, receive)
        else:
            request = Request(scope, receive)
        try:
            response = await route.handler(request, {**match.groupdict(), **query})
        except Exception as exc:
            response = expected_error_response(exc)
            if response is None:
                raise
        if response is None:
            await self.app(scope, receive, send)
            return
        self.answered[route.operation].inc()
        await response(scope, receive, send)
