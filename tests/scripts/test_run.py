"""The real `make run`, from a copy of the checkout in a private folder (mode 700, as a home
folder), on spare ports with its own PostgreSQL and Redis: every process it starts stops with
it whatever ends it (Ctrl-C, SIGTERM, the terminal closed, SIGKILL of make or of make and the
supervisor together); its PostgreSQL keeps durability on and requires a password; a previous
run's leftovers are stopped; a port held by another process is named with its pid."""

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
import requests

from scripts.supervise import (
    command_line,
    descendants,
    port_listening,
    read_state,
    start_time,
)
from tests.conftest import ROOT, free_port, process_log

READY = "Sesame is ready"


def copy_checkout(destination: Path) -> None:
    """The files of the checkout as they are now (tracked and new), with their dates (so that
    make sees the virtualenv as up to date), and the checkout's virtualenv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (raw.decode() for raw in listed)):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")


@pytest.fixture(scope="module")
def private_checkout() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sesame-home-"))  # mode 700: nobody else enters
    checkout = home / "sesame"
    copy_checkout(checkout)
    clusters: set[Path] = set()
    yield checkout
    for log in (checkout / ".local").glob("make-run-*.log"):
        clusters.update(Path(p) for p in re.findall(r"\(cluster (\S+)\)", log.read_text()))
    for cluster in clusters:
        shutil.rmtree(cluster, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def stack_ports() -> dict[str, int]:
    return {name: free_port() for name in ("front", "web", "stream", "postgres", "redis")}


@pytest.fixture(scope="module")
def database_url(stack_ports: dict[str, int]) -> str:
    password = secrets.token_urlsafe(12)
    return f"postgres://sesame:{password}@127.0.0.1:{stack_ports['postgres']}/sesame_run"


@dataclass
class MakeRun:
    """One `make run` started as from a terminal: make leads its own process group."""

    checkout: Path
    env: dict[str, str]
    ports: dict[str, int]
    log: Path = field(init=False)
    process: subprocess.Popen[bytes] = field(init=False)

    def start(self) -> "MakeRun":
        self.log = process_log("make-run")
        self.process = subprocess.Popen(
            ["make", "run"],
            cwd=self.checkout,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 600
        while READY not in self.output:
            assert self.process.poll() is None, self.output[-3000:]
            assert time.monotonic() < deadline, self.output[-3000:]
            time.sleep(0.5)
        # Kept beside the copy: the fixture reads where the cluster went to remove it.
        shutil.copy(self.log, self.checkout / ".local" / f"make-run-{self.process.pid}.log")

    def state(self) -> dict:
        return json.loads((self.checkout / ".local" / "run" / "state.json").read_text())

    def processes(self) -> dict[int, int | None]:
        """Every process of this run now: make, the supervisor, its watchdog, the servers and
        their own children; pid -> start time."""
        pids = {self.process.pid, *descendants(self.process.pid), self.state()["watchdog"]}
        return {pid: start_time(pid) for pid in pids}

    def wait_gone(self, processes: dict[int, int | None]) -> tuple[list[str], list[int]]:
        """Wait (at most a minute) until none of `processes` lives and no port listens; what
        is left: (processes, ports)."""
        deadline = time.monotonic() + 60
        while True:
            with_pid = [p for p, started in processes.items() if start_time(p) == started]
            left = [f"{p} {command_line(p)}" for p in with_pid]  # "?" once it is gone
            ports = [p for p in self.ports.values() if port_listening(p)]
            if (not left and not ports) or time.monotonic() > deadline:
                return left, ports
            time.sleep(0.2)


@pytest.fixture
def make_run(private_checkout: Path, stack_ports: dict[str, int], database_url: str):
    """make_run() starts `make run` in the private copy; whatever is left is killed after."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SESAME_DEV": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{stack_ports['redis']}/0",
        "FRONT_PORT": str(stack_ports["front"]),
        "WEB_PORT": str(stack_ports["web"]),
        "STREAM_PORT": str(stack_ports["stream"]),
        "WEB_CONCURRENCY": "1",
    }
    runs: list[MakeRun] = []

    def start() -> MakeRun:
        run = MakeRun(private_checkout, env, stack_ports).start()
        runs.append(run)
        return run

    yield start
    # After a failure, nothing of this test survives it.
    state = read_state(private_checkout / ".local" / "run" / "state.json")
    for child in state.get("children", []):
        if start_time(child["pid"]) == child["start"]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child["pgid"], signal.SIGKILL)
    for run in runs:
        for pid in {run.process.pid, *descendants(run.process.pid)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.process.wait(10)


def assert_everything_stops(run: MakeRun, send) -> None:
    run.wait_ready()
    response = requests.get(f"http://127.0.0.1:{run.ports['front']}/accounts/login/", timeout=10)
    assert response.status_code == 200
    processes = run.processes()
    names = {c["name"] for c in run.state()["children"]}
    assert names == {"postgres", "redis", "front", "web", "stream", "worker", "beat"}
    assert len(processes) >= 10  # make, supervisor, watchdog, 7 servers, their workers
    send(run.process.pid)
    left, ports = run.wait_gone(processes)
    assert left == [] and ports == [], run.output[-3000:]
    run.process.wait(30)


def test_sigterm_to_make_stops_everything_and_a_previous_runs_leftover_is_stopped(
    make_run, private_checkout: Path
) -> None:
    # A process a previous run recorded, still running (e.g. it ignored its stop signal).
    leftover = subprocess.Popen(["sleep", "600"], start_new_session=True)
    state = private_checkout / ".local" / "run" / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(
        json.dumps(
            {
                "pid": 2**22 + 1,  # that run's supervisor is gone
                "start": 1,
                "watchdog": None,
                "children": [
                    {
                        "name": "web",
                        "pid": leftover.pid,
                        "pgid": leftover.pid,
                        "start": start_time(leftover.pid),
                        "signal": signal.SIGTERM,
                        "ports": [],
                    }
                ],
            }
        )
    )
    run = make_run()
    assert_everything_stops(run, lambda pid: os.kill(pid, signal.SIGTERM))
    assert leftover.wait(10) == -signal.SIGTERM
    assert f"previous run's leftover: stopping web (pid {leftover.pid})" in run.output


def test_terminal_closed_stops_everything_and_a_second_run_is_refused(make_run) -> None:
    run = make_run()
    run.wait_ready()
    second = make_run()
    assert second.process.wait(120) == 2  # make's code for a failed recipe
    supervisor = run.state()["pid"]
    assert f"`make run` already runs from this checkout (pid {supervisor})" in second.output
    assert_everything_stops(run, lambda pid: os.killpg(pid, signal.SIGHUP))


def test_sigkill_of_make_stops_everything(make_run) -> None:
    assert_everything_stops(make_run(), lambda pid: os.kill(pid, signal.SIGKILL))


def test_sigkill_of_make_and_the_supervisor_stops_everything(make_run) -> None:
    # Neither can clean up: the parent-death signals and the watchdog do.
    assert_everything_stops(make_run(), lambda pid: os.killpg(pid, signal.SIGKILL))


def test_ctrl_c_stops_everything_and_postgres_kept_durability_and_a_password(
    make_run, private_checkout: Path, database_url: str, stack_ports: dict[str, int]
) -> None:
    run = make_run()
    run.wait_ready()
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'full_page_writes', 'password_encryption')"
        )
        settings = dict(cursor.fetchall())
    connection.close()
    assert settings == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "password_encryption": "scram-sha-256",
    }
    wrong = database_url.replace("sesame:", "sesame:wrong", 1)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(wrong)
    superuser = f"postgres://postgres@127.0.0.1:{stack_ports['postgres']}/postgres"
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(superuser)
    cluster = Path(re.findall(r"\(cluster (\S+)\)", run.output)[0])
    rules = (cluster / "data" / "pg_hba.conf").read_text().splitlines()
    active = [line for line in rules if line.strip() and not line.startswith("#")]
    assert active and all("trust" not in line for line in active)
    assert not cluster.is_relative_to(private_checkout)
    if os.geteuid() == 0:
        # The cluster is the postgres user's, who cannot enter the private folder.
        assert (cluster / "data").stat().st_uid == pwd.getpwnam("postgres").pw_uid
        assert (cluster / "data").stat().st_mode & 0o777 == 0o700
        enter = ["runuser", "-u", "postgres", "--", "test", "-x", str(private_checkout)]
        assert subprocess.run(enter, check=False).returncode != 0
    # The terminal's Ctrl-C: SIGINT to the foreground process group (make and the supervisor).
    assert_everything_stops(run, lambda pid: os.killpg(pid, signal.SIGINT))


def test_a_port_held_by_another_process_is_named_with_its_pid(
    make_run, stack_ports: dict[str, int]
) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", stack_ports["web"]))
        holder.listen()
        run = make_run()
        assert run.process.wait(120) == 2
    port = stack_ports["web"]
    assert f"port {port} is in use by pid {os.getpid()}" in run.output
    assert f"kill {os.getpid()}" in run.output
    assert "FRONT_PORT, WEB_PORT, STREAM_PORT" in run.output
    # Nothing was started: neither PostgreSQL nor Redis.
    assert not port_listening(stack_ports["postgres"])
    assert not port_listening(stack_ports["redis"])
