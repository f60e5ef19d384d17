"""`make test`: `makemigrations --check`, the suite (pytest under pytest-xdist), ruff,
`check --deploy` with production settings and mypy.

PostgreSQL at DATABASE_URL is used when it answers; otherwise the project-local cluster
(scripts/services.py) is started for the run as a child of this process, and stops with it
whatever ends it (scripts/supervise.py). The suite starts its own Redis (tests/conftest.py).
The tools the tests drive (chromium, nginx, gettext, redis-server) are installed when missing.

TEST_PROCESSES: how many pytest processes (default `auto`: one per CPU, the best of 2, 3 and 4
on 2 CPUs, docs/PERFORMANCE.md; 0 runs the suite in one process). Arguments go to pytest.
"""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import services  # noqa: E402
from supervise import Stopped, Supervisor, set_parent_death_signal  # noqa: E402

DEFAULT_PROCESSES = "auto"
TYPED_PACKAGES = ["sesame", "gun", "tracking", "notifications", "appointments", "dossier"]
# Production-like values for `check --deploy`: nothing of development leaks into it.
DEPLOY_ENV = {
    "SESAME_DEV": "0",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "sesame.example.org",
    "SECRET_KEY": "deploy-check-" + secrets.token_hex(32),
}


def pytest_argv(args: list[str]) -> list[str]:
    processes = os.environ.get("TEST_PROCESSES", DEFAULT_PROCESSES)
    parallel = [] if processes == "0" else ["-n", processes, "--dist", "loadgroup"]
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        parallel = []
    return [sys.executable, "-m", "pytest", *parallel, *args]


def main(args: list[str]) -> int:
    set_parent_death_signal(signal.SIGINT)  # make killed: stop as for Ctrl-C
    run_dir = ROOT / ".local" / "run"
    supervisor = Supervisor(run_dir / f"suite-{os.getpid()}.json", label="test")
    supervisor.handle_signals()
    python = sys.executable
    steps = [
        ("migrations", [python, "manage.py", "makemigrations", "--check", "--dry-run", "-v1"], {}),
        ("pytest", pytest_argv(args), {}),
        ("ruff", [str(Path(python).parent / "ruff"), "check", "."], {}),
        (
            "deploy",
            [python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            DEPLOY_ENV,
        ),
        (
            "mypy",
            [str(Path(python).parent / "mypy"), *TYPED_PACKAGES],
            {},
        ),
    ]
    try:
        supervisor.start_watchdog()
        services.ensure_test_tools()
        services.ensure_nginx()
        subprocess.run(
            [python, "scripts/axe_core.py"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        services.ensure_postgres(
            os.environ.get("DATABASE_URL", services.DEFAULT_DATABASE_URL), supervisor.starter
        )
        for name, argv, extra in steps:
            code = supervisor.run(
                name,
                argv,
                env={**os.environ, **extra},
                cwd=ROOT,
                capture=False,
                stop_signal=signal.SIGINT,  # as Ctrl-C: pytest stops its workers and servers
                grace=60,
            )
            if code:
                return code
        return 0
    except Stopped:
        return 130
    except (services.SetupError, subprocess.CalledProcessError) as exc:
        supervisor.say(f"cannot continue: {exc}")
        return 1
    finally:
        supervisor.stop()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
