"""Real servers for the test suite: the ones named by TEST_DATABASE_URL / TEST_REDIS_URL, or
embedded ones started for the run. Also a private Redis a test may stop and start at will."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parent.parent


class TestServers:
    """The PostgreSQL and Redis the suite talks to, and the processes it started."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="tandem-test-"))
        self._postgres: EmbeddedPostgres | None = None
        self._redis: EmbeddedRedis | None = None
        base = os.environ.get("TEST_DATABASE_URL")
        if not base:
            self._postgres = EmbeddedPostgres(self.tmp)
            base = self._postgres.start("postgres")
        self.admin_database_url = base
        redis_url = os.environ.get("TEST_REDIS_URL")
        if not redis_url:
            self._redis = EmbeddedRedis(self.tmp)
            redis_url = self._redis.start()
        self.redis_url = redis_url

    def stop(self) -> None:
        if self._redis is not None:
            self._redis.stop()
        if self._postgres is not None:
            self._postgres.stop()


def database_url_for(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server of `admin_url`."""
    head, sep, query = admin_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}{sep}{query}"


def start_private_redis(directory: Path) -> EmbeddedRedis:
    """A Redis of the test's own on a port of its own (the test may stop it)."""
    server = EmbeddedRedis(directory, port=free_port())
    server.start()
    return server


def start_process(module: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `python -m module` with `env`, logging to `log_path`."""
    log = open(log_path, "ab")  # noqa: SIM115 (owned by the child)
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not stop in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
