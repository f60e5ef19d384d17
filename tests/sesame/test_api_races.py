"""Two clients acting at once: the same POST twice in parallel, two writers of one object.

Requests run in threads through the full Django stack, each on its own database connection. A
table lock held by the test makes the requests reach the database together (or keeps the first
one running while the second arrives), so each race happens on every run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from tracking.models import Consignment

pytestmark = pytest.mark.django_db(transaction=True)

CONSIGNMENTS = "/api/v1/consignments/"


def consignment_body(reference: str = "RACE-1") -> dict:
    return {
        "reference": reference,
        "container_numbers": ["CSQU3054383"],
        "transport_document_type": "bl",
        "transport_document_number": "BL-1",
        "port": "FRLEH",
        "expected_arrival": (timezone.now() + timedelta(days=2)).isoformat(),
    }


def in_threads(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread (own database connection); results in call order."""

    def run(call: Callable[[], Any]) -> Any:
        try:
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


class TableLock:
    """Hold ``LOCK TABLE … IN EXCLUSIVE MODE`` on a connection of the test's own, so writers
    queue behind it; ``waiting(n)`` returns once n other sessions wait for it."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.ready = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE")
                self.ready.set()
                self.release.wait(60)
                cursor.execute("COMMIT")
        finally:
            connections.close_all()

    def __enter__(self) -> TableLock:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def waiting(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with connections["default"].cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = %s AND NOT l.granted",
                    [self.table],
                )
                if cursor.fetchone()[0] >= count:
                    return
                time.sleep(0.02)
        raise AssertionError(f"{count} sessions never queued on {self.table}")

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(30)


def client(key: str, **headers: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}", **headers)
    return api


def test_the_same_consignment_posted_twice_at_once_is_one_201_and_one_409(company_key) -> None:
    """Without an Idempotency-Key the unique constraint decides: never a 500."""
    table = Consignment._meta.db_table
    with TableLock(table) as lock:
        pool = ThreadPoolExecutor(2)
        futures = [
            pool.submit(lambda: _post(client(company_key), CONSIGNMENTS, consignment_body()))
            for _ in range(2)
        ]
        lock.waiting(2)
    statuses = sorted(future.result(timeout=60)[0] for future in futures)
    pool.shutdown()
    assert statuses == [201, 409]
    codes = [future.result()[1].get("code") for future in futures]
    assert "consignment_reference_taken" in codes
    assert Consignment.objects.filter(reference="RACE-1").count() == 1


def _post(api: APIClient, path: str, body: dict) -> tuple[int, dict]:
    try:
        response = api.post(path, body, format="json")
        return response.status_code, response.json()
    finally:
        connections.close_all()
