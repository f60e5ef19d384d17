"""Make sure PostgreSQL, Redis (and, for `make run`, nginx) are there for the portal.

`python scripts/services.py up [--nginx] [--chromium]` uses the servers at DATABASE_URL /
REDIS_URL when they answer; otherwise it starts project-local instances from the installed
binaries, installing the Debian packages first when they are missing and this user may (root,
apt-get). `python scripts/services.py down` stops what it started. `make run` and `make test`
start the same servers as children of their supervisor instead (scripts/supervise.py), so that
they stop with it. Only the standard library and psycopg2 are used, so it runs before Django is
importable.

The project-local PostgreSQL cluster (`Cluster`) keeps durability on (fsync, synchronous_commit,
full_page_writes) and trusts nobody: the cluster's owner reaches it through its socket (peer
authentication, to create the role), everyone else with a password (scram-sha-256). As root it
lives outside the checkout, in the home of the `postgres` system user, keyed by the checkout's
path, because PostgreSQL refuses to run as root and the `postgres` user cannot enter a checkout
in a private folder (a home folder is mode 700). As another user it lives in `.local/pg/` and
runs as that user.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import hashlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
DEFAULT_DATABASE_URL = "postgres://sesame:sesame@127.0.0.1:54329/sesame"
DEFAULT_REDIS_URL = "redis://127.0.0.1:63799/0"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")

Starter = Callable[..., Callable[[], "str | None"]]
"""start(name, argv, user=..., cwd=..., stop_signal=..., ports=...) starts a server process in
the foreground under a supervisor (scripts/supervise.py) rather than as a daemon, and returns
`exited()`: None while the process runs, its last lines of output once it has exited."""


class SetupError(RuntimeError):
    """A clear, final message for the person running the command."""


def say(message: str) -> None:
    with contextlib.suppress(OSError):
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


def port_in_use_message(port: int, what: str) -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    from supervise import describe_port

    return describe_port(port, f"point {what} at another port")


# --- PostgreSQL ----------------------------------------------------------------------------


def pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def pg_connectable(url: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


def checkout_key() -> str:
    """A folder name for this checkout: its name and a hash of its path."""
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]  # noqa: S324 - a name, no secret
    return f"{ROOT.name}-{digest}"


class Cluster:
    """The project-local PostgreSQL cluster of this checkout (see the module's docstring).

    SESAME_PG_DIR puts it elsewhere (the tests of `make run` use their own)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        if is_root():
            try:
                self.owner = "postgres"
                home = Path(pwd.getpwnam("postgres").pw_dir)
            except KeyError as exc:
                raise SetupError("no `postgres` user: install the postgresql package") from exc
            default = home / "sesame" / checkout_key()
        else:
            self.owner = getpass.getuser()
            default = LOCAL / "pg"
        self.dir = Path(os.environ.get("SESAME_PG_DIR") or default)
        self.data = self.dir / "data"
        self.sockets = self.dir / "run"
        self.log = self.dir / "postgres.log"

    def as_owner(self, cmd: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root: its tools run as the `postgres` system user.
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", self.owner, "--", *cmd] if is_root() else cmd

    def prepare(self) -> None:
        """Create the cluster when it does not exist; (re)write its access rules."""
        created = [p for p in (self.dir.parent, self.dir, self.sockets) if not p.exists()]
        for path in created:
            path.mkdir(mode=0o700)
        if is_root():
            owner = pwd.getpwnam(self.owner)
            for path in {*created, self.dir, self.sockets}:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            say(f"initialising the project-local cluster in {self.data}")
            subprocess.run(
                self.as_owner(
                    [
                        str(self.bindir / "initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        "postgres",
                        "--auth-local=peer",
                        "--auth-host=scram-sha-256",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=self.dir,
            )
        self.write_access_rules()

    def write_access_rules(self) -> None:
        """pg_hba.conf: the owner through the socket by peer (mapped to the `postgres` role),
        everybody else with a scram-sha-256 password; nothing is trusted."""
        hba = (
            "# Written by scripts/services.py: nothing is trusted.\n"
            "# The cluster's owner, through the socket only (peer), as the `postgres` role.\n"
            "local   all   postgres                   peer map=owner\n"
            "# Everybody else: a password.\n"
            "local   all   all                        scram-sha-256\n"
            "host    all   all        127.0.0.1/32    scram-sha-256\n"
            "host    all   all        ::1/128         scram-sha-256\n"
        )
        ident = f"# Written by scripts/services.py.\nowner   {self.owner}   postgres\n"
        for name, text in (("pg_hba.conf", hba), ("pg_ident.conf", ident)):
            path = self.data / name
            path.write_text(text)
            if is_root():
                owner = pwd.getpwnam(self.owner)
                os.chown(path, owner.pw_uid, owner.pw_gid)
            path.chmod(0o600)

    def server_argv(self, port: int) -> list[str]:
        """The postmaster in the foreground, durable."""
        return [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(port),
            "-k",
            str(self.sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "unix_socket_permissions=0700",
            # Durability stays on: a committed declaration survives a power cut.
            "-c",
            "fsync=on",
            "-c",
            "synchronous_commit=on",
            "-c",
            "full_page_writes=on",
            "-c",
            "password_encryption=scram-sha-256",
        ]

    def running(self) -> tuple[int, int] | None:
        """(pid, port) of this cluster's postmaster when it runs."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid, port

    def psql(self, port: int, sql: str) -> str:
        return subprocess.run(
            self.as_owner(
                [
                    str(self.bindir / "psql"),
                    "-h",
                    str(self.sockets),
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
                    "-c",
                    sql,
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
            cwd=self.dir,
        ).stdout.strip()

    def ready(self, port: int) -> bool:
        argv = [str(self.bindir / "pg_isready"), "-q", "-h", str(self.sockets), "-p", str(port)]
        return subprocess.run(self.as_owner(argv), check=False, cwd=self.dir).returncode == 0


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def ensure_postgres(url: str, start: Starter | None = None) -> bool:
    """Make PostgreSQL answer at `url`; True when a project-local server was started for it.

    With `start`, the server runs in the foreground under the caller's supervisor; without, it
    is started as a daemon (`pg_ctl`) and `down` stops it."""
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
    cluster = Cluster(bindir)
    LOCAL.mkdir(exist_ok=True)
    ours = cluster.running()
    if ours is not None and ours[1] != port:
        raise SetupError(
            f"the project-local cluster {cluster.dir} already runs on port {ours[1]} (pid "
            f"{ours[0]}): point DATABASE_URL at that port, or stop it (kill -INT {ours[0]})"
        )
    if port_open(host, port) and ours is None:
        raise SetupError(
            "PostgreSQL does not accept DATABASE_URL's credentials and "
            + port_in_use_message(port, "DATABASE_URL")
        )
    started = False
    handle = None
    if ours is None:
        cluster.prepare()
        say(f"starting PostgreSQL on {host}:{port} (cluster {cluster.dir})")
        if start is not None:
            handle = start(
                "postgres",
                cluster.server_argv(port),
                user=cluster.owner,
                cwd=cluster.dir,
                stop_signal=signal.SIGINT,  # fast shutdown: no waiting for clients
                ports=(port,),
            )
        else:
            subprocess.run(
                cluster.as_owner(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(cluster.data),
                        "-l",
                        str(cluster.log),
                        "-o",
                        shlex.join(cluster.server_argv(port)[3:]),
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=cluster.dir,
            )
        started = True
    for _ in range(240):
        if cluster.ready(port):
            break
        last_words = handle() if handle is not None else None
        if last_words is not None:
            raise SetupError(f"PostgreSQL exited: {last_words}")
        time.sleep(0.25)
    else:
        raise SetupError(f"PostgreSQL did not start; see its output above or {cluster.log}")
    user = unquote(parts.username or "sesame")
    password = unquote(parts.password or "")
    if not password:
        raise SetupError("DATABASE_URL has no password: the project-local cluster requires one")
    dbname = (parts.path or "/sesame").lstrip("/") or "sesame"
    exists = cluster.psql(port, f"SELECT 1 FROM pg_roles WHERE rolname = {_literal(user)}")
    verb = "ALTER" if exists else "CREATE"
    role = f"ROLE {_identifier(user)} LOGIN CREATEDB PASSWORD {_literal(password)}"
    cluster.psql(port, f"{verb} {role}")
    if not cluster.psql(port, f"SELECT 1 FROM pg_database WHERE datname = {_literal(dbname)}"):
        cluster.psql(port, f"CREATE DATABASE {_identifier(dbname)} OWNER {_identifier(user)}")
    for _ in range(30):
        if pg_connectable(url):
            say("PostgreSQL ready")
            return started
        time.sleep(0.5)
    raise SetupError(f"PostgreSQL did not accept DATABASE_URL's credentials; see {cluster.log}")


# --- Redis --------------------------------------------------------------------------------


def redis_server() -> str:
    found = shutil.which("redis-server")
    if not found:
        apt_install("redis-server")
        found = shutil.which("redis-server")
    if not found:
        raise SetupError("redis-server not found after install")
    return found


def redis_argv(port: int, directory: Path, *, daemon: bool = False) -> list[str]:
    """A Redis with no persistence (cache, broker and rate limits only) and room for the
    database numbers of REDIS_URL."""
    return [
        redis_server(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--daemonize",
        "yes" if daemon else "no",
        "--dir",
        str(directory),
        "--databases",
        "64",
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxclients",
        "10000",
        *(
            ["--pidfile", str(directory / "redis.pid"), "--logfile", str(directory / "redis.log")]
            if daemon
            else []
        ),
    ]


def ensure_redis(url: str, start: Starter | None = None) -> bool:
    """Make Redis answer at `url`; True when a project-local server was started for it."""
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if port_open(host, port):
        say("Redis answers at REDIS_URL")
        return False
    if host not in LOCAL_HOSTS:
        raise SetupError(f"Redis at {host}:{port} does not answer (REDIS_URL)")
    directory = LOCAL / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    say(f"starting Redis on {host}:{port}")
    handle = None
    if start is not None:
        handle = start("redis", redis_argv(port, directory), ports=(port,))
    else:
        subprocess.run(redis_argv(port, directory, daemon=True), check=True)
    for _ in range(100):
        if port_open(host, port):
            say("Redis ready")
            return True
        last_words = handle() if handle is not None else None
        if last_words is not None:
            raise SetupError(f"Redis exited: {last_words}")
        time.sleep(0.1)
    raise SetupError("Redis did not start; see its output above or .local/redis/redis.log")


# --- nginx (the front for `make run`), the tests' tools -------------------------------------


def ensure_nginx() -> None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        apt_install("nginx-light")


def ensure_test_tools() -> None:
    """Debian's chromium for the browser tests, gettext for the catalogue checks, redis-server
    for the suite's own Redis."""
    missing = []
    if not Path("/usr/bin/chromium").exists():
        missing.append("chromium")
    if not shutil.which("xgettext") or not shutil.which("msgfmt"):
        missing.append("gettext")
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if missing:
        apt_install(*missing)


def up(
    *, nginx: bool = False, chromium: bool = False, redis: bool = True, start: Starter | None = None
) -> list[str]:
    """Everything the portal needs; returns the local servers started now ("postgres",
    "redis"), so that the caller can stop exactly those."""
    started = []
    if ensure_postgres(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), start):
        started.append("postgres")
    if redis and ensure_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), start):
        started.append("redis")
    if nginx:
        ensure_nginx()
    if chromium:
        ensure_test_tools()
    return started


def down(which: tuple[str, ...] = ("postgres", "redis")) -> None:
    """Stop the project-local servers named in `which` (started as daemons by `up`)."""
    bindir = pg_bindir()
    if "postgres" in which and bindir:
        cluster = Cluster(bindir)
        if cluster.running() is not None:
            subprocess.run(
                cluster.as_owner(
                    [str(bindir / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "stop"]
                ),
                check=False,
                cwd=cluster.dir,
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
