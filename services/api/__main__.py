"""`python -m services.api`: serve the API with uvicorn on API_HOST:API_PORT."""

from __future__ import annotations

import uvicorn

from shared.config import get_settings
from shared.logging import configure_logging


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, "api")
    uvicorn.run(
        "services.api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        # An idle keep-alive connection is closed after 5 s; past MAX_CONNECTIONS open
        # connections and requests uvicorn answers 503 itself, a backstop behind the API's own
        # concurrency limit (MAX_CONCURRENT_REQUESTS, a problem+json 503).
        timeout_keep_alive=5,
        limit_concurrency=settings.max_connections,
        backlog=1024,
        # For the h11 parser only (httptools is used here): no header block over 64 KiB.
        h11_max_incomplete_event_size=64 * 1024,
    )


if __name__ == "__main__":
    main()
