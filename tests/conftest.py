"""Fixtures for running things: API clients, a real Celery worker, a real browser; and what
lets the suite run in parallel (pytest-xdist) on any machine.

Isolation per pytest process (the xdist workers gw0, gw1, ... or the one process of a serial
run): its own test database (pytest-django: test_<name>_gw0, ..., copied from one template the
controller migrates), its own database on a Redis server the suite starts for itself (on a free
port, without persistence, stopped with the session: the `REDIS_URL` given to the suite is not
used, so no run touches another's keys, nor anybody's Redis), free ports for every server a test
starts, and its own folder of process logs, kept only for failed tests. The suite's database
connections commit without waiting for the disk (synchronous_commit off, its own setting): it
trades durability for speed, `make run`'s server keeps it. Tests that start heavy processes are
grouped (HEAVY_FIXTURES) for `--dist loadgroup`.
"""

import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from sesame.models import Company
from sesame.services import api_key_create
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"
SUITE_REDIS = "SESAME_SUITE_REDIS"
"""The suite's Redis server (redis://127.0.0.1:<port>), set by the first pytest process for the
xdist workers it starts."""
TEMPLATE = "SESAME_TEST_TEMPLATE"
"""The migrated database the xdist workers' test databases are copied from."""
RUN = "SESAME_TEST_RUN"
"""This run's id (the first pytest process's pid), in the names of its folders of logs."""
GROUPS = "SESAME_TEST_GROUPS"
"""The folder where xdist workers write the groups of the tests they collected."""
LOGS = ROOT / ".local" / "test-logs"
HEAVY_FIXTURES = {
    "browser": "browser",
    "page": "browser",
    "celery_worker_process": "processes",
    "start_worker": "processes",
    "uvicorn_server": "processes",
    "front": "processes",
    "make_run": "make_run",
}
"""Tests that start heavy processes, by fixture: each group runs on one xdist worker
(`--dist loadgroup`), one test at a time, so that two browsers or two stacks do not fight over
2 CPUs; the tests of `make run` (a whole stack each) are a group of their own, so that they run
beside the others rather than after them."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dies_with_this_process(argv: list[str], sig: str = "TERM") -> list[str]:
    """`argv` run so that it gets `sig` when the pytest process that starts it dies, even by
    SIGKILL (util-linux setpriv sets the parent-death signal, then executes `argv`)."""
    return ["setpriv", f"--pdeathsig={sig}", "--", *argv]


# --- The suite's own Redis -------------------------------------------------------------------


def _start_suite_redis(directory: Path) -> subprocess.Popen[bytes]:
    from scripts.services import redis_argv

    if not shutil.which("redis-server"):
        raise pytest.UsageError(
            "the suite starts its own Redis: install redis-server (`make test` does)"
        )
    log = directory / "redis.log"
    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(
            dies_with_this_process([*redis_argv(port, directory), "--databases", "256"]),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=port, socket_timeout=1).ping():
                    os.environ[SUITE_REDIS] = f"redis://127.0.0.1:{port}"
                    return process
            time.sleep(0.05)
        process.kill()
        process.wait()
    raise pytest.UsageError(f"the suite's Redis did not start: {log.read_text()[-2000:]}")


def _use_redis(url: str) -> None:
    """Point this process (cache, Celery, live streams) and the processes its tests start
    (`service_env`) at `url`."""
    settings.REDIS_URL = url
    settings.CACHES["default"]["LOCATION"] = url
    settings.CELERY_BROKER_URL = url
    settings.CELERY_RESULT_BACKEND = url
    from sesame.celery import app

    app.conf.broker_url = url
    app.conf.result_backend = url


def worker_number() -> int | None:
    """0, 1, ... in xdist worker gw0, gw1, ...; None in a serial run or the xdist controller."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return int(worker.removeprefix("gw")) if worker else None


# --- One migrated template database for the xdist workers -----------------------------------


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg2

    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        dbname="postgres",
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )
    connection.autocommit = True
    return connection


def _drop_template(name: str) -> None:
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


def _distributed(config: pytest.Config) -> bool:
    """Whether this pytest process is the controller of xdist workers."""
    option = config.option
    return getattr(option, "dist", "no") != "no" and bool(getattr(option, "tx", None))


def _create_template(config: pytest.Config) -> str | None:
    """Under xdist, the controller migrates one template database before the workers start;
    each worker's test database is then a copy of it (CREATE DATABASE ... TEMPLATE, about a
    second) instead of running every migration again, all workers at once on 2 CPUs."""
    if not _distributed(config):
        return None
    db = settings.DATABASES["default"]
    template = (db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}") + "_template"
    _drop_template(template)
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{template}"')
    finally:
        connection.close()
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{template}"
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "SESAME_DEV": "1", "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL},
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode:
        _drop_template(template)
        raise pytest.UsageError(f"migrating the template database failed:\n{migrate.stderr}")
    os.environ[TEMPLATE] = template
    return template


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # a serial run, or the controller of xdist workers
        os.environ[RUN] = str(os.getpid())
        _clean_old_logs()
        directory = Path(tempfile.mkdtemp(prefix="sesame-suite-redis-"))
        config.stash[_redis_key] = (_start_suite_redis(directory), directory)
    number = worker_number()
    _use_redis(f"{os.environ[SUITE_REDIS]}/{0 if number is None else number + 1}")
    if not hasattr(config, "workerinput"):
        config.stash[_template_key] = _create_template(config)
        if _distributed(config):
            os.environ[GROUPS] = tempfile.mkdtemp(prefix="sesame-test-groups-")
    elif os.environ.get(TEMPLATE):
        settings.DATABASES["default"].setdefault("TEST", {})["TEMPLATE"] = os.environ[TEMPLATE]
    # The suite's own durability trade: commits do not wait for the disk.
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c synchronous_commit=off").strip()
    config.stash[_logs_key] = _Logs()


def pytest_unconfigure(config: pytest.Config) -> None:
    template = config.stash.get(_template_key, None)
    if template is not None:
        _drop_template(template)
    if not hasattr(config, "workerinput") and os.environ.get(GROUPS):
        shutil.rmtree(os.environ.pop(GROUPS), ignore_errors=True)
    process, directory = config.stash.get(_redis_key, (None, None))
    if process is not None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        LOGS.rmdir()  # only when no test kept a log


_redis_key = pytest.StashKey[tuple[subprocess.Popen[bytes], Path]]()
_template_key = pytest.StashKey[str | None]()


@pytest.fixture(scope="session", autouse=True)
def _clean_redis() -> None:
    """Each run starts with an empty Redis database (cache, broker, rate limits): this
    process's own database on the suite's Redis."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """The test database, created by pytest-django; the processes that tests start (workers,
    servers) commit without waiting for the disk too. At the end, a connection some thread or
    process left open does not stop pytest-django from dropping it."""
    from django.db import connection

    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"ALTER DATABASE {name} SET synchronous_commit TO off")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


# --- Heavy tests grouped for xdist -----------------------------------------------------------
#
# xdist's own `--dist loadgroup` reads a test's group from a suffix it appends to the test's id,
# which pytest 9.2 no longer lets a plugin change (pytest-xdist#1386): the groups would silently
# be ignored. So each worker writes the groups of what it collected to a file, and the
# controller's scheduler (a LoadGroupScheduling) reads them.


def _group_of(item: pytest.Item) -> str | None:
    for mark in item.iter_markers("xdist_group"):
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[str, str] = {}
    for item in items:
        names = getattr(item, "fixturenames", ())
        heavy = {HEAVY_FIXTURES[name] for name in names if name in HEAVY_FIXTURES}
        if item.get_closest_marker("browser"):
            heavy.add("browser")
        if item.get_closest_marker("worker"):
            heavy.add("processes")
        if heavy and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(min(heavy)))
        group = _group_of(item)
        if group is not None:
            groups[item.nodeid] = group
    config.stash[_groups_key] = groups


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """In an xdist worker, before it tells the controller what it collected."""
    directory = os.environ.get(GROUPS)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if directory and worker and hasattr(session.config, "workerinput"):
        path = Path(directory) / f"{worker}.json"
        path.with_suffix(".tmp").write_text(json.dumps(session.config.stash.get(_groups_key, {})))
        path.with_suffix(".tmp").replace(path)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        """Groups from the workers' files; xdist's own suffix still works where pytest keeps
        it (before 9.2)."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                self.groups = {}
                for path in Path(os.environ[GROUPS]).glob("*.json"):
                    self.groups.update(json.loads(path.read_text()))
            group = self.groups.get(nodeid)
            return f"group:{group}" if group else super()._split_scope(nodeid)

    return GroupScheduling(config, log)  # type: ignore[arg-type]


_groups_key = pytest.StashKey[dict[str, str]]()


# --- Process logs: kept only for failed tests ------------------------------------------------


class _Logs:
    """The logs of the processes this pytest process starts, and when tests failed."""

    def __init__(self) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.directory = LOGS / f"{os.environ[RUN]}-{worker}-{os.getpid()}"
        self.files: list[tuple[Path, float]] = []
        self.failures: list[tuple[float, float]] = []
        self.current: float = time.time()
        self.counter = itertools.count(1)

    def new(self, name: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{next(self.counter):03d}-{name}.log"
        self.files.append((path, time.time()))
        return path

    def clean(self) -> None:
        """Delete every log no failed test saw being written: a log is kept when it was
        created before the end of a failed test and written after its start."""
        for path, created in self.files:
            with contextlib.suppress(FileNotFoundError):
                written = path.stat().st_mtime
                if not any(created <= end and written >= start for start, end in self.failures):
                    path.unlink()
        with contextlib.suppress(OSError):
            self.directory.rmdir()  # only when empty


_logs_key = pytest.StashKey[_Logs]()
_config: list[pytest.Config] = []


def process_log(name: str) -> Path:
    """A log file for a process a test starts (.local/test-logs/<worker>-<pid>/); it is deleted
    at the end of the session unless a test failed while it was being written."""
    return _config[0].stash[_logs_key].new(name)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _config[:] = [session.config]


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    if _config:
        _config[0].stash[_logs_key].current = time.time()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed and _config:
        logs = _config[0].stash[_logs_key]
        logs.failures.append((logs.current, time.time()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    logs = session.config.stash.get(_logs_key, None)
    if logs is not None:
        logs.clean()


def pytest_terminal_summary(terminalreporter: object, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not LOGS.exists():
        return
    kept = sorted(LOGS.glob(f"{os.environ[RUN]}-*/*.log"))
    if kept:
        terminalreporter.write_line(  # type: ignore[attr-defined]
            f"logs of the processes started by failed tests: {LOGS} ({len(kept)} files)"
        )


def _clean_old_logs() -> None:
    """Logs kept by an earlier run go when a new run starts (not those of a run still going)."""
    for legacy in (ROOT / ".local").glob("test-*.log"):  # where logs were written before
        legacy.unlink(missing_ok=True)
    if not LOGS.exists():
        return
    for directory in LOGS.iterdir():
        pid = directory.name.rsplit("-", 1)[-1]
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Reference rows seeded by migrations (border control posts) exist in every database test,
    also after a transactional test has flushed the tables."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db", "live_server"}:
        return
    transactional = (
        (marker is not None and marker.kwargs.get("transaction"))
        or names & {"transactional_db", "live_server"}
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from sesame.migrations import _reference

    _reference.load_border_control_posts()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    yield
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def api() -> Callable[[str | None], APIClient]:
    """`api(key)`: an API client sending `Authorization: Api-Key <key>`."""

    def make(key: str | None = None) -> APIClient:
        client = APIClient()
        if key:
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client

    return make


@pytest.fixture
def company() -> Company:
    return CompanyFactory()


@pytest.fixture
def other_company() -> Company:
    return CompanyFactory()


@pytest.fixture
def company_key(company: Company) -> str:
    return api_key_create(company=company)[1]


@pytest.fixture
def other_company_key(other_company: Company) -> str:
    return api_key_create(company=other_company)[1]


@pytest.fixture
def partner_key() -> Callable[[str], str]:
    return lambda partner: api_key_create(partner=partner)[1]


@pytest.fixture
def operator(company: Company):
    return MembershipFactory(company=company, role="operator").user


@pytest.fixture
def company_admin(company: Company):
    return MembershipFactory(company=company, role="admin").user


@pytest.fixture
def user():
    return UserFactory()


def database_url() -> str:
    """The URL of the database the tests run against (the test database, once created)."""
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def service_env(**extra: str) -> dict[str, str]:
    """Environment for a process of the stack (worker, servers) started by a test: this pytest
    process's test database and Redis database."""
    celery = {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}  # from REDIS_URL, as in the tests
    env = {k: v for k, v in os.environ.items() if k not in celery}
    return {
        **env,
        "SESAME_DEV": "1",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Worker:
    """A real `celery worker` process on the test database and the test Redis."""

    def __init__(self, concurrency: int = 1, extra_env: dict[str, str] | None = None) -> None:
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = process_log("celery-worker")

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            dies_with_this_process(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "sesame",
                    "worker",
                    "-l",
                    "info",
                    "--concurrency",
                    str(self.concurrency),
                    "--pool",
                    "prefork",
                    "--without-mingle",
                    "--without-gossip",
                    "-n",
                    f"test-{os.getpid()}@%h",
                ]
            ),
            cwd=ROOT,
            env=service_env(**self.extra_env),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text()[-2000:]}")
            if b"ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and children), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[Worker]:
    """A running worker; tests using it commit their data (transactional_db)."""
    worker = Worker().start()
    yield worker
    worker.stop()


@pytest.fixture
def start_worker(transactional_db: None) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(**kwargs: object) -> Worker:
        worker = Worker(**kwargs).start()  # type: ignore[arg-type]
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="fr-FR")  # type: ignore[attr-defined]
    page = context.new_page()
    # Bounds for a page to load or an element to appear, not speed targets: generous, for a
    # machine whose 2 CPUs run several suites at once.
    page.set_default_timeout(30_000)
    yield page
    context.close()
