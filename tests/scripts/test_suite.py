"""What lets the suite run in parallel: each pytest process has its own test database and its own
database on the suite's own Redis, the processes its tests start use both, the suite commits
without waiting for the disk, and process logs are kept only for failed tests."""

import os
import time
from pathlib import Path

import psycopg2
import pytest
import redis
from django.conf import settings
from django.db import connection

from sesame.celery import app
from tests.conftest import SUITE_REDIS, _Logs, database_url, worker_number


def test_each_pytest_process_has_its_own_redis_database_on_the_suites_own_server() -> None:
    number = worker_number()
    expected = f"{os.environ[SUITE_REDIS]}/{0 if number is None else number + 1}"
    assert expected == settings.REDIS_URL
    assert settings.CACHES["default"]["LOCATION"] == expected
    assert app.conf.broker_url == expected
    assert app.conf.result_backend == expected
    # The suite's server is not the one the suite was given (REDIS_URL of the environment).
    given = os.environ.get("REDIS_URL")
    assert given is None or not given.startswith(os.environ[SUITE_REDIS] + "/")
    assert redis.Redis.from_url(expected).ping()


@pytest.mark.django_db
def test_each_pytest_process_has_its_own_test_database() -> None:
    name = connection.settings_dict["NAME"]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    assert name.startswith("test_")
    assert name.endswith(f"_{worker}") if worker else not name.endswith("_gw0")


@pytest.mark.django_db
def test_the_suite_commits_without_waiting_for_the_disk_in_every_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("off",)
    # A process a test starts connects with the URL alone: the database's own setting.
    other = psycopg2.connect(database_url())
    try:
        with other.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("off",)
    finally:
        other.close()


def test_a_worker_started_by_a_test_uses_this_process_redis_and_test_database(
    celery_worker_process,
) -> None:
    from sesame.tasks import ping

    result = ping.delay("isolation").get(timeout=30)
    assert result["database"] == connection.settings_dict["NAME"]
    banner = celery_worker_process.log.read_text().splitlines()
    transport = [line.split("transport:", 1)[1].strip() for line in banner if "transport:" in line]
    address = settings.REDIS_URL.removeprefix("redis://")  # celery masks a missing password
    assert transport == [f"redis://:**@{address}"]


def test_logs_are_kept_only_when_a_failed_test_saw_them_written(tmp_path: Path) -> None:
    logs = _Logs()
    logs.directory = tmp_path / "logs"
    now = time.time()
    quiet, busy, later = (logs.new(name) for name in ("quiet", "busy", "later"))
    for path, written in ((quiet, now - 100), (busy, now), (later, now + 60)):
        path.write_text("...\n")
        os.utime(path, (written, written))
    # Created long before the failed test (quiet, busy) or after it (later).
    logs.files = [(quiet, now - 200), (busy, now - 200), (later, now + 50)]
    logs.failures = [(now - 10, now + 10)]
    logs.clean()
    # quiet was not written during the failed test, later did not exist yet.
    assert sorted(p.name for p in logs.directory.iterdir()) == ["002-busy.log"]


def test_the_folder_of_logs_goes_when_no_log_is_kept(tmp_path: Path) -> None:
    logs = _Logs()
    logs.directory = tmp_path / "logs"
    logs.new("server").write_text("listening\n")
    logs.clean()
    assert not logs.directory.exists()
