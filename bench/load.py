"""Load generators: wrk (C, preferred) or a small uvloop + httptools client in its own process.

Both keep `connections` keep-alive connections busy for `duration` seconds and report the
same figures: requests, errors (non-2xx, socket errors, timeouts) and latency percentiles.
`python -m bench.load ...` is the Python generator's process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Job:
    """One measured run: what to send, how hard, for how long."""

    port: int
    mode: str  # "list", "get" or "post"
    connections: int
    duration: float
    key: str
    ids_file: Path
    body_file: Path
    timeout: float = 5.0


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int  # non-2xx responses and socket errors
    timeouts: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int = 0  # of the errors, answers with another status (wrk: 4xx and 5xx)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


LIST_PATH = "/v1/activities?limit=50"

WRK_SCRIPT = r"""
local mode, key, ids_file, body_file = "%(mode)s", "%(key)s", "%(ids)s", "%(body)s"
local ids = {}
wrk.headers["Authorization"] = "Bearer " .. key
if mode == "post" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
elseif mode == "get" then
  for line in io.lines(ids_file) do ids[#ids + 1] = line end
end
function setup(thread) math.randomseed(os.time()) end
if mode == "get" then
  request = function()
    return wrk.format(nil, "/v1/activities/" .. ids[math.random(#ids)])
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %%d, "us": %%d, "errors": %%d, "timeouts": %%d,' ..
    ' "connect": %%d, "read": %%d, "write": %%d, "status": %%d,' ..
    ' "p50": %%d, "p99": %%d, "max": %%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status, e.timeout,
    e.connect, e.read, e.write, e.status,
    latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def install_wrk() -> bool:
    """Install Debian's wrk when running as root on a Debian-like system; True when it worked."""
    if have_wrk():
        return True
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
            break
    return have_wrk()


def run(job: Job, client: str) -> Result:
    """Drive one run with `client` ("wrk" or "python") from a separate process."""
    if client == "wrk":
        return _run_wrk(job)
    return _run_python(job)


def _parse(stdout: str) -> Result:
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            d = json.loads(line.removeprefix("BENCH_RESULT "))
            return Result(
                requests=d["requests"],
                seconds=d["us"] / 1e6,
                errors=d["errors"],
                timeouts=d["timeouts"],
                p50_ms=d["p50"] / 1000,
                p99_ms=d["p99"] / 1000,
                max_ms=d["max"] / 1000,
                non_2xx=d.get("status", 0),
            )
    raise RuntimeError(f"load generator printed no result:\n{stdout}")


def _run_wrk(job: Job) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            WRK_SCRIPT
            % {"mode": job.mode, "key": job.key, "ids": job.ids_file, "body": job.body_file}
        )
        script = f.name
    path = LIST_PATH if job.mode == "list" else "/v1/activities"
    cmd = [
        "wrk",
        "-t1",
        f"-c{job.connections}",
        f"-d{max(1, round(job.duration))}s",
        f"--timeout={job.timeout:g}s",
        "-s",
        script,
        f"http://127.0.0.1:{job.port}{path}",
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    finally:
        os.unlink(script)
    return _parse(out.stdout)


def _run_python(job: Job) -> Result:
    cmd = [
        sys.executable,
        "-m",
        "bench.load",
        str(job.port),
        job.mode,
        str(job.connections),
        str(job.duration),
        job.key,
        str(job.ids_file),
        str(job.body_file),
        str(job.timeout),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return _parse(out.stdout)


# --- the Python generator (runs in its own process) ---------------------------------------


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending a request as soon as the previous answer is in."""

    def __init__(self, gen: _Generator) -> None:
        import httptools

        self.gen = gen
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.sent = 0.0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        if time.perf_counter() >= self.gen.deadline:
            assert self.transport is not None
            self.transport.close()
            return
        self.sent = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.gen.next_request())

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        elapsed = time.perf_counter() - self.sent
        self.gen.latencies.append(elapsed)
        if not 200 <= self.parser.get_status_code() < 300:
            self.gen.errors += 1
            self.gen.non_2xx += 1
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if time.perf_counter() < self.gen.deadline:
            self.gen.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


class _Generator:
    def __init__(
        self, port: int, mode: str, key: str, ids: list[str], body: bytes, timeout: float
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.mode = mode
        self.ids = ids
        self.latencies: list[float] = []
        self.errors = 0
        self.non_2xx = 0
        self.deadline = 0.0
        auth = f"Authorization: Bearer {key}\r\nHost: 127.0.0.1\r\n".encode()
        if mode == "post":
            self.fixed = (
                b"POST /v1/activities HTTP/1.1\r\n"
                + auth
                + b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        elif mode == "list":
            self.fixed = f"GET {LIST_PATH} HTTP/1.1\r\n".encode() + auth + b"\r\n"
        else:
            self.auth = auth

    def next_request(self) -> bytes:
        if self.mode == "get":
            ident = random.choice(self.ids)
            return f"GET /v1/activities/{ident} HTTP/1.1\r\n".encode() + self.auth + b"\r\n"
        return self.fixed

    async def run(self, connections: int, duration: float) -> dict[str, int]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        self.deadline = started + duration
        conns = []
        for _ in range(connections):
            _, proto = await loop.create_connection(
                lambda: _Connection(self), "127.0.0.1", self.port
            )
            conns.append(proto)
        await asyncio.gather(*(c.closed for c in conns))
        seconds = time.perf_counter() - started
        lat = sorted(self.latencies)

        def pct(p: float) -> int:
            return int(lat[min(len(lat) - 1, int(len(lat) * p))] * 1e6) if lat else 0

        return {
            "requests": len(lat),
            "us": int(seconds * 1e6),
            "errors": self.errors,
            "status": self.non_2xx,
            "timeouts": sum(1 for x in lat if x > self.timeout),
            "p50": pct(0.5),
            "p99": pct(0.99),
            "max": int(lat[-1] * 1e6) if lat else 0,
        }


def _main() -> None:
    import uvloop

    p = argparse.ArgumentParser()
    for name in ("port", "mode", "connections", "duration", "key", "ids", "body", "timeout"):
        p.add_argument(name)
    a = p.parse_args()
    ids = Path(a.ids).read_text().split()
    gen = _Generator(int(a.port), a.mode, a.key, ids, Path(a.body).read_bytes(), float(a.timeout))
    result = uvloop.run(gen.run(int(a.connections), float(a.duration)))
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    _main()
