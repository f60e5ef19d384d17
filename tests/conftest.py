"""Fixtures for running things: API clients, a real Celery worker, a real browser."""

import os
import subprocess
import sys
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


@pytest.fixture(scope="session", autouse=True)
def _clean_redis() -> None:
    """Each run starts with an empty Redis database (cache, broker, rate limits)."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


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
    """Environment for a process of the stack (worker, servers) started by a test."""
    return {
        **os.environ,
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
        self.log = ROOT / ".local" / f"test-worker-{os.getpid()}.log"

    def start(self) -> "Worker":
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
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
            ],
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
    from playwright.sync_api import sync_playwright

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
    page.set_default_timeout(10_000)
    yield page
    context.close()
