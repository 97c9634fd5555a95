"""The API served by a real uvicorn process over a socket."""

from __future__ import annotations

import httpx

from shared.embedded import free_port
from tests.servers import start_process, stop_process, wait_for


def test_real_uvicorn_process_serves_readyz(process_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**process_env, "API_HOST": "127.0.0.1", "API_PORT": str(port)}
    proc = start_process("services.api", env, tmp_path / "api.log")
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(ready, timeout=120), (tmp_path / "api.log").read_text()
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "abc"})
        assert response.headers["x-request-id"] == "abc"
    finally:
        stop_process(proc)
    log = (tmp_path / "api.log").read_text()
    assert '"request_id":"abc"' in log
    assert "Application shutdown complete." in log  # graceful stop on SIGTERM
