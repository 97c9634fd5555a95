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
    )


if __name__ == "__main__":
    main()
