"""Fixtures for integration tests: an app and a worker that may call webhooks on 127.0.0.1,
and a real HTTP receiver for them."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.main import create_app
from shared.config import Settings
from tests.servers import start_process, stop_process

LOOPBACK = "127.0.0.1"


@pytest.fixture
def hooks_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_hosts": LOOPBACK})


@pytest.fixture
async def hooks_client(
    hooks_settings: Settings, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process, with 127.0.0.1 on WEBHOOK_ALLOWED_HOSTS."""
    application = create_app(hooks_settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
            yield c


@pytest.fixture
def hooks_worker(process_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The real worker process, with 127.0.0.1 on WEBHOOK_ALLOWED_HOSTS."""
    env = {**process_env, "WEBHOOK_ALLOWED_HOSTS": LOOPBACK}
    proc = start_process("services.worker", env, tmp_path / "worker.log")
    yield proc
    stop_process(proc)


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering each request with the next planned status."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[int, dict[str, str], bytes], int] = lambda n, h, b: 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.05)
        return predicate(self.snapshot())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            rec = box["r"]
            with rec.lock:
                status = rec.answer(len(rec.requests), headers, body)
                rec.requests.append(Received(time.time(), headers, body, status))
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver says no")

        def log_message(self, *args: Any) -> None:
            """Keep the test output quiet (requests are recorded, not printed)."""

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    box["r"] = Receiver(f"http://{LOOPBACK}:{server.server_address[1]}/hooks/tandem")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()
