"""`make run`: the portal with demo data on http://127.0.0.1:8000.

Starts what is missing (PostgreSQL, Redis), migrates, loads the demo data, then the processes of
the Procfile (front, web, stream, worker, beat), every one of them a child of this process under
a supervisor (scripts/supervise.py): whatever ends it (Ctrl-C, SIGTERM, the terminal closed,
SIGKILL) they all stop, the database and Redis servers included when this command started them.
A previous run's leftovers are stopped first; a port held by anything else is named with the
process that holds it.

Ports: FRONT_PORT (8000, nginx), WEB_PORT (8001, gunicorn), STREAM_PORT (8002, uvicorn).
"""

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import front  # noqa: E402
import services  # noqa: E402
from supervise import (  # noqa: E402
    Stopped,
    Supervisor,
    describe_port,
    port_listening,
    set_parent_death_signal,
)

RUN_DIR = ROOT / ".local" / "run"


def ports() -> dict[str, int]:
    return {
        "front": int(os.environ.get("FRONT_PORT", "8000")),
        "web": int(os.environ.get("WEB_PORT", "8001")),
        "stream": int(os.environ.get("STREAM_PORT", "8002")),
    }


def procfile() -> list[tuple[str, str]]:
    """(name, shell command) of each line of the Procfile."""
    entries = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries.append((name.strip(), command.strip()))
    return entries


def child_env(port: dict[str, int]) -> dict[str, str]:
    """The environment of every process: the ports, and the site's own address."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if "/usr/sbin" not in path.split(":"):
        path += ":/usr/sbin"
    return {
        **os.environ,
        "PATH": path,
        "PWD": str(ROOT),
        "FRONT_LISTEN": f"127.0.0.1:{port['front']}",
        "WEB_BIND": f"127.0.0.1:{port['web']}",
        "WEB_UPSTREAM": f"127.0.0.1:{port['web']}",
        "STREAM_UPSTREAM": f"127.0.0.1:{port['stream']}",
        "STREAM_PORT": str(port["stream"]),
        "SITE_URL": os.environ.get("SITE_URL", f"http://127.0.0.1:{port['front']}"),
    }


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    started_at = time.monotonic()
    # make (or the shell) killed, even by SIGKILL: stop everything as for Ctrl-C.
    set_parent_death_signal(signal.SIGTERM)
    supervisor = Supervisor(RUN_DIR / "state.json", label="run")
    supervisor.handle_signals()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    lock = (RUN_DIR / "lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = supervisor.previous_run().get("pid")
        supervisor.say(
            f"`make run` already runs from this checkout (pid {pid}): stop it (Ctrl-C in its "
            f"terminal, or kill {pid})"
        )
        return 1
    supervisor.stop_leftovers()
    port = ports()
    busy = [
        describe_port(number, "choose other ports (FRONT_PORT, WEB_PORT, STREAM_PORT)")
        for number in port.values()
        if port_listening(number)
    ]
    if busy:
        for message in busy:
            supervisor.say(message)
        return 1
    supervisor.start_watchdog()
    env = child_env(port)
    python = sys.executable
    try:
        services.up(nginx=True, start=supervisor.starter)
        for name, argv in (
            ("migrate", [python, "manage.py", "migrate", "--noinput", "-v0"]),
            ("demo", [python, "manage.py", "demo_data"]),
        ):
            code = supervisor.run(name, argv, env=env, cwd=ROOT, capture=False)
            if code:
                supervisor.say(f"`manage.py {argv[2]}` failed (exit code {code})")
                return code
        os.environ.update({k: env[k] for k in ("FRONT_LISTEN", "WEB_UPSTREAM", "STREAM_UPSTREAM")})
        front.main()
        by_name = {"front": port["front"], "web": port["web"], "stream": port["stream"]}
        for name, command in procfile():
            supervisor.spawn(
                name,
                ["/bin/sh", "-c", f"exec {command}"],
                env=env,
                cwd=ROOT,
                ports=(by_name[name],) if name in by_name else (),
            )
        site = f"http://127.0.0.1:{port['front']}"
        ready = False
        while supervisor.stop_requested is None:
            exited = supervisor.wait(timeout=0.5)
            if exited is not None:
                supervisor.say(
                    f"{exited.name} exited (code {exited.process.returncode}): stopping the rest"
                )
                return 1
            if not ready and answers(f"{site}/accounts/login/"):
                ready = True
                seconds = time.monotonic() - started_at
                supervisor.write(
                    f"\n  Sesame is ready: {site}  ({seconds:.0f} s; Ctrl-C stops it)\n"
                )
        return 0
    except Stopped:
        return 0
    except (services.SetupError, subprocess.CalledProcessError) as exc:
        supervisor.say(f"cannot continue: {exc}")
        return 1
    finally:
        supervisor.stop()
        with contextlib.suppress(OSError):
            lock.close()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
