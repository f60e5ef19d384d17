"""Make sure PostgreSQL, Redis (and, for `make run`, nginx) are there for the portal.

`python scripts/services.py up [--nginx]` uses the servers at DATABASE_URL / REDIS_URL when they
answer; otherwise it starts project-local instances under `.local/` from the installed binaries,
installing the Debian packages first when they are missing and this user may (root, apt-get).
`python scripts/services.py down` stops what it started. Only the standard library and
psycopg2 are used, so it runs before Django is importable.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
DEFAULT_DATABASE_URL = "postgres://sesame:sesame@127.0.0.1:54329/sesame"
DEFAULT_REDIS_URL = "redis://127.0.0.1:63799/0"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


class SetupError(RuntimeError):
    """A clear, final message for the person running the command."""


def say(message: str) -> None:
    print(f"[services] {message}", flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(*packages: str) -> None:
    if not is_root() or not shutil.which("apt-get"):
        raise SetupError(
            f"missing {' '.join(packages)}: install them (sudo apt-get install "
            f"{' '.join(packages)}) or point the URL at a running server"
        )
    say(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    marker = LOCAL / ".apt-updated"
    if not marker.exists():
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        LOCAL.mkdir(exist_ok=True)
        marker.touch()
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --- PostgreSQL ---------------------------------------------------------------------------


def pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run its tools as the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def pg_connectable(url: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


def ensure_postgres(url: str) -> bool:
    """Make PostgreSQL answer at `url`; True when a project-local server was started for it."""
    if pg_connectable(url):
        say("PostgreSQL answers at DATABASE_URL")
        return False
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if host not in LOCAL_HOSTS:
        raise SetupError(f"PostgreSQL at {host}:{port} does not answer (DATABASE_URL)")
    bindir = pg_bindir()
    if bindir is None:
        apt_install("postgresql")
        bindir = pg_bindir()
    if bindir is None:
        raise SetupError("PostgreSQL binaries not found after install")
    data = LOCAL / "pg" / "data"
    sock = LOCAL / "pg" / "run"
    log = LOCAL / "pg" / "postgres.log"
    LOCAL.mkdir(exist_ok=True)
    (LOCAL / "pg").mkdir(exist_ok=True)
    sock.mkdir(exist_ok=True)
    if is_root():
        subprocess.run(["chown", "-R", "postgres:postgres", str(LOCAL / "pg")], check=True)
    if not (data / "PG_VERSION").exists():
        say(f"initialising a project-local cluster in {data}")
        subprocess.run(
            as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    started = not port_open(host, port)
    if started:
        say(f"starting PostgreSQL on {host}:{port}")
        # A local development cluster: durability traded for speed, room for the race tests.
        options = (
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=256MB"
        )
        subprocess.run(
            as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    user = unquote(parts.username or "sesame")
    password = unquote(parts.password or "")
    dbname = (parts.path or "/sesame").lstrip("/") or "sesame"
    psql = as_postgres(
        [
            str(bindir / "psql"),
            "-h",
            str(sock),
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-tA",
        ]
    )
    exists = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not exists:
        escaped = password.replace("'", "''")
        subprocess.run(
            [*psql, "-c", f"CREATE ROLE \"{user}\" LOGIN CREATEDB PASSWORD '{escaped}'"],
            check=True,
        )
    has_db = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not has_db:
        subprocess.run([*psql, "-c", f'CREATE DATABASE "{dbname}" OWNER "{user}"'], check=True)
    for _ in range(30):
        if pg_connectable(url):
            say("PostgreSQL ready")
            return started
        time.sleep(0.5)
    raise SetupError(f"PostgreSQL did not accept connections; see {log}")


# --- Redis --------------------------------------------------------------------------------


def ensure_redis(url: str) -> bool:
    """Make Redis answer at `url`; True when a project-local server was started for it."""
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if port_open(host, port):
        say("Redis answers at REDIS_URL")
        return False
    if host not in LOCAL_HOSTS:
        raise SetupError(f"Redis at {host}:{port} does not answer (REDIS_URL)")
    if not shutil.which("redis-server"):
        apt_install("redis-server")
    directory = LOCAL / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    say(f"starting Redis on {host}:{port}")
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(directory),
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(directory / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "20000",
        ],
        check=True,
    )
    for _ in range(50):
        if port_open(host, port):
            say("Redis ready")
            return True
        time.sleep(0.1)
    raise SetupError(f"Redis did not start; see {directory / 'redis.log'}")


# --- nginx (the front for `make run`) -------------------------------------------------------


def ensure_nginx() -> None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        apt_install("nginx-light")


def ensure_test_tools() -> None:
    """Debian's chromium for the browser tests, gettext for the catalogue checks."""
    missing = []
    if not Path("/usr/bin/chromium").exists():
        missing.append("chromium")
    if not shutil.which("xgettext") or not shutil.which("msgfmt"):
        missing.append("gettext")
    if missing:
        apt_install(*missing)


def up(*, nginx: bool = False, chromium: bool = False) -> list[str]:
    """Everything the portal needs; returns the local servers started now ("postgres",
    "redis"), so that the caller can stop exactly those."""
    started = []
    if ensure_postgres(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)):
        started.append("postgres")
    if ensure_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)):
        started.append("redis")
    if nginx:
        ensure_nginx()
    if chromium:
        ensure_test_tools()
    return started


def down(which: tuple[str, ...] = ("postgres", "redis")) -> None:
    """Stop the project-local servers named in `which`."""
    bindir = pg_bindir()
    data = LOCAL / "pg" / "data"
    if "postgres" in which and bindir and (data / "postmaster.pid").exists():
        subprocess.run(
            as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            check=False,
        )
    pidfile = LOCAL / "redis" / "redis.pid"
    if "redis" in which and pidfile.exists():
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), 15)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"up", "down"}:
        print("usage: services.py up [--nginx] [--chromium] | down", file=sys.stderr)
        return 2
    try:
        if argv[0] == "down":
            down()
            return 0
        up(nginx="--nginx" in argv, chromium="--chromium" in argv)
    except (SetupError, subprocess.CalledProcessError) as exc:
        print(f"[services] cannot continue: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
