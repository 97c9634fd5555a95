"""`tandem run`: migrate, then the API and the worker in the foreground, on embedded servers
when no URLs are configured. Ctrl-C (or SIGTERM) stops every process it started."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

from shared.config import Settings
from shared.embedded import EmbeddedPostgres, EmbeddedRedis

log = logging.getLogger("tandem.launcher")

# A worker that exits is started again after 1 s, then 2, 4... up to 60 s while it keeps
# failing; one that ran for a minute counts as healthy again.
WORKER_RESTART_FIRST_DELAY = 1.0
WORKER_RESTART_MAX_DELAY = 60.0
WORKER_HEALTHY_AFTER = 60.0


class Launcher:
    """Starts the servers and processes of one Tandem deployment and supervises them."""

    def __init__(self, settings: Settings, *, seed: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.seed = seed
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        self.stopping = True

    def _spawn(self, name: str, env: dict[str, str]) -> None:
        module = {"api": "services.api", "worker": "services.worker"}[name]
        # Own session: a terminal's Ctrl-C reaches the launcher only, which stops children in order.
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", module], env=env, start_new_session=True
        )
        log.info("started", extra={"child": name, "pid": self.children[name].pid})

    def run(self) -> int:
        """Run until a signal arrives or the API dies; return the exit code."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            env = self._prepare()
            if self.stopping:
                return 0
            self._spawn("api", env)
            self._spawn("worker", env)
            return self._supervise(env)
        finally:
            self._shutdown()

    def _prepare(self) -> dict[str, str]:
        from shared.migrate import upgrade_head

        env = dict(os.environ)
        database_url, redis_url = self.settings.database_url, self.settings.redis_url
        if not database_url:
            self.postgres = EmbeddedPostgres(self.settings.data_dir)
            database_url = self.postgres.start()
            log.info("embedded PostgreSQL ready", extra={"pgdata": str(self.postgres.pgdata)})
        if not redis_url:
            self.redis = EmbeddedRedis(self.settings.data_dir)
            redis_url = self.redis.start()
            log.info("embedded Redis ready", extra={"port": self.redis.port})
        env["DATABASE_URL"], env["REDIS_URL"] = database_url, redis_url
        upgrade_head(database_url)
        log.info("migrations applied")
        if self.seed is not None:
            self.seed(database_url)
        return env

    def _supervise(self, env: dict[str, str]) -> int:
        delay = WORKER_RESTART_FIRST_DELAY
        worker_started = time.monotonic()
        restart_at: float | None = None
        while not self.stopping:
            time.sleep(0.2)
            api = self.children["api"]
            if api.poll() is not None:
                log.error("API exited", extra={"code": api.returncode})
                return api.returncode or 1
            worker = self.children["worker"]
            now = time.monotonic()
            if restart_at is not None:
                if now >= restart_at:
                    self._spawn("worker", env)
                    worker_started, restart_at = now, None
            elif worker.poll() is not None:
                if now - worker_started >= WORKER_HEALTHY_AFTER:
                    delay = WORKER_RESTART_FIRST_DELAY
                log.warning(
                    "worker exited; restarting",
                    extra={"code": worker.returncode, "in_s": delay},
                )
                restart_at = now + delay
                delay = min(delay * 2, WORKER_RESTART_MAX_DELAY)
        return 0

    def _shutdown(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, child in self.children.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("killing", extra={"child": name})
                child.kill()
                child.wait()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
        log.info("stopped")
