"""What the benchmarks share: the stack of `make run` on a bench database, a load generator, the
machine description and the writer of docs/PERFORMANCE.md.

`Stack` starts the same servers as `make run` (nginx front on 8000, gunicorn with
sesame/gunicorn_conf.py on 8001, uvicorn on 8002) against a fresh database, and stops every
process it started on exit, Ctrl-C or error. Ports and databases come from the environment:
BENCH_FRONT_PORT, BENCH_WEB_PORT, BENCH_STREAM_PORT, BENCH_DATABASE (sesame_bench),
BENCH_REDIS_DB (5).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
BIN = Path(PY).parent
PERFORMANCE = ROOT / "docs" / "PERFORMANCE.md"
PERFORMANCE_HEADER = (
    "# Performance\n\n"
    "Figures written by `make bench` (`python -m bench`): each section is rewritten by its "
    "benchmark, measured through the front (nginx on port 8000) with the servers of `make run`.\n"
)


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- Machine -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """nproc, memory, CPU model and date, for the figures' header."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    load = "?"
    with contextlib.suppress(OSError):
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "load": load,
        "nproc": str(os.cpu_count() or "?"),
        "memory": memory,
        "cpu": cpu,
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "python": platform.python_version(),
    }


def machine_line() -> str:
    m = machine()
    return (
        f"Machine: {m['nproc']} CPU ({m['cpu']}), {m['memory']} memory, Python {m['python']}; "
        f"measured {m['date']} (load average before the run: {m['load']}). "
        f"{database_durability()}"
    )


def database_durability(url: str | None = None) -> str:
    """What the PostgreSQL server measured trades for speed: its fsync, synchronous_commit and
    full_page_writes (`make run`'s own cluster keeps all three on)."""
    import psycopg2

    url = url or os.environ.get("DATABASE_URL", "postgres://sesame:sesame@127.0.0.1:54329/sesame")
    for candidate in (url, _with_database(url, "postgres")):
        try:
            connection = psycopg2.connect(candidate, connect_timeout=3)
        except psycopg2.Error:
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name"
                )
                settings = ", ".join(f"{name} {setting}" for name, setting in cursor.fetchall())
        finally:
            connection.close()
        return f"PostgreSQL durability: {settings}."
    return "PostgreSQL durability: unknown (the server did not answer before the run)."


# --- docs/PERFORMANCE.md -------------------------------------------------------------------


def write_section(title: str, body: str, path: Path = PERFORMANCE) -> None:
    """Replace (or append) the `## <title>` section of docs/PERFORMANCE.md, keeping the others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else PERFORMANCE_HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


# --- Processes -----------------------------------------------------------------------------


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def _with_redis_db(url: str, db: int) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{db}"))


class BenchError(RuntimeError):
    """A clear, final message for the person running the benchmark."""


@dataclass
class Stack:
    """The servers of `make run` on a bench database; a context manager that stops them all.

    Inside ``with Stack() as stack``: ``stack.front`` is the base URL (http://127.0.0.1:8000),
    ``stack.manage(...)`` runs a management command against the bench database.
    """

    front_port: int = int(os.environ.get("BENCH_FRONT_PORT", "8000"))
    web_port: int = int(os.environ.get("BENCH_WEB_PORT", "8001"))
    stream_port: int = int(os.environ.get("BENCH_STREAM_PORT", "8002"))
    database: str = os.environ.get("BENCH_DATABASE", "sesame_bench")
    redis_db: int = int(os.environ.get("BENCH_REDIS_DB", "5"))
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_dir: Path = ROOT / ".local" / "bench"

    @property
    def front(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def database_url(self) -> str:
        base = os.environ.get("DATABASE_URL", "postgres://sesame:sesame@127.0.0.1:54329/sesame")
        return _with_database(base, self.database)

    @property
    def redis_url(self) -> str:
        base = os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0")
        return _with_redis_db(base, self.redis_db)

    def env(self) -> dict[str, str]:
        """Production-like settings: no DEBUG (no query log, no debug pages), quiet logs."""
        return {
            **os.environ,
            "SESAME_DEV": "1",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": "sesame-bench",
            "PYTHONUNBUFFERED": "1",
            "WEB_BIND": f"127.0.0.1:{self.web_port}",
            # The bench measures capacity, not the per-key quota.
            "API_THROTTLE_RATE": "1000000/min",
            "GUN_ANTICIPATION_RATE": "none",
            "GUN_VALIDATION_RATE": "none",
            **self.extra_env,
        }

    # -- lifecycle --

    def __enter__(self) -> Stack:
        self._previous = {
            sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
        }
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def start(self) -> None:
        for port in (self.front_port, self.web_port, self.stream_port):
            if port_open(port):
                raise BenchError(
                    f"port {port} is already in use (is `make run` running?): stop it, or choose "
                    "other ports with BENCH_FRONT_PORT / BENCH_WEB_PORT / BENCH_STREAM_PORT"
                )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        say("PostgreSQL, Redis, nginx (scripts/services.py up --nginx)")
        subprocess.run(
            [PY, "scripts/services.py", "up", "--nginx"], cwd=ROOT, check=True, env=os.environ
        )
        self._fresh_database()
        self._flush_redis()
        say(f"migrating {self.database}")
        self.manage("migrate", "--noinput", "-v0")
        self._start_servers()

    def _fresh_database(self) -> None:
        import psycopg2

        admin_url = os.environ.get(
            "DATABASE_URL", "postgres://sesame:sesame@127.0.0.1:54329/sesame"
        )
        connection = psycopg2.connect(_with_database(admin_url, "postgres"))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            connection.close()

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()

    def manage(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            check=True,
            stdout=subprocess.PIPE if capture else None,
            text=True,
        )
        return result.stdout or ""

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        self.processes.append(process)
        return process

    def _start_servers(self) -> None:
        sys.path.insert(0, str(ROOT / "scripts"))
        from front import render

        prefix = self.log_dir / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            render(
                listen=f"127.0.0.1:{self.front_port}",
                web=f"127.0.0.1:{self.web_port}",
                stream=f"127.0.0.1:{self.stream_port}",
                prefix=prefix,
            )
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        say(f"gunicorn :{self.web_port}, uvicorn :{self.stream_port}, nginx :{self.front_port}")
        self._spawn("web", [str(BIN / "gunicorn"), "sesame.wsgi", "-c", "sesame/gunicorn_conf.py"])
        self._spawn(
            "stream",
            [
                str(BIN / "uvicorn"),
                "sesame.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.stream_port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "2",
            ],
        )
        self._spawn("front", [nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise BenchError(
                        f"{process.args[0]} exited with {process.returncode}; see {self.log_dir}"
                    )
            if self._healthy():
                say("servers ready")
                return
            time.sleep(0.3)
        raise BenchError(f"the servers did not answer within 60 s; see {self.log_dir}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.front}/health/", timeout=2) as response:
                return response.status == 200 and port_open(self.stream_port)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop every process this stack started: SIGTERM to its group, SIGKILL after 10 s."""
        for process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in reversed(self.processes):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if self.processes:
            say("servers stopped")
        self.processes.clear()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- Load ----------------------------------------------------------------------------------


@dataclass
class Result:
    """What one load run measured."""

    name: str
    clients: int
    requests: int
    errors: int
    elapsed: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")

    def line(self) -> str:
        return (
            f"{self.name:>10} x{self.clients:<3} {self.requests:6d} req "
            f"({self.errors} errors) {self.throughput:8.1f}/s p50 {self.p50:7.1f} ms "
            f"p99 {self.p99:7.1f} ms"
        )


Request = Callable[[Any, int], Awaitable[int]]
"""request(session, n) -> HTTP status: performs the n-th request of a run."""


async def _run_load(
    name: str, request: Request, *, clients: int, total: int, max_seconds: float
) -> Result:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        deadline = start + max_seconds

        async def client() -> None:
            nonlocal errors
            for n in counter:
                if time.perf_counter() > deadline:
                    return
                began = time.perf_counter()
                try:
                    status = await request(session, n)
                except (TimeoutError, aiohttp.ClientError):
                    status = 0
                latencies.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1
                if not 200 <= status < 300:
                    errors += 1

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return Result(name, clients, len(latencies), errors, elapsed, latencies, statuses)


def load(name: str, request: Request, *, clients: int, total: int, max_seconds: float) -> Result:
    """Run ``total`` requests (at most ``max_seconds``) from ``clients`` concurrent clients."""
    return asyncio.run(
        _run_load(name, request, clients=clients, total=total, max_seconds=max_seconds)
    )


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    began = time.perf_counter()
    yield
    say(f"{label}: {time.perf_counter() - began:.1f} s")
