"""Two clients acting at once: the same POST twice in parallel, two writers of one object.

Requests run in threads through the full Django stack, each on its own database connection. A
table lock held by the test makes the requests reach the database together (or keeps the first
one running while the second arrives), so each race happens on every run.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
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


class Holding:
    """Run ``statements`` in a transaction on a connection of the test's own and hold it open
    (its locks with it) until the block ends; ``waiting(n)`` returns once n other sessions of
    this database wait for a lock."""

    def __init__(self, *statements: tuple[str, list[Any]]) -> None:
        self.statements = statements
        self.ready = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                for sql, params in self.statements:
                    cursor.execute(sql, params)
                self.ready.set()
                self.release.wait(60)
                cursor.execute("COMMIT")
        finally:
            connections.close_all()

    def __enter__(self) -> Holding:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def waiting(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with connections["default"].cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0] >= count:
                    return
                time.sleep(0.02)
        raise AssertionError(f"{count} sessions never waited for a lock")

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(30)


def table_lock(model: Any) -> Holding:
    return Holding((f"LOCK TABLE {model._meta.db_table} IN EXCLUSIVE MODE", []))


def row_lock(model: Any, pk: Any) -> Holding:
    return Holding((f"SELECT 1 FROM {model._meta.db_table} WHERE id = %s FOR UPDATE", [pk]))


def client(key: str, **headers: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}", **headers)
    return api


def test_the_same_consignment_posted_twice_at_once_is_one_201_and_one_409(company_key) -> None:
    """Without an Idempotency-Key the unique constraint decides: never a 500."""
    with table_lock(Consignment) as lock:
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


def _call(api: APIClient, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    try:
        response = getattr(api, method)(path, body, format="json")
        return response.status_code, response.json()
    finally:
        connections.close_all()


def test_the_same_post_twice_at_once_under_one_idempotency_key_runs_once(company_key) -> None:
    """The second request arrives while the first runs (held on the table lock): 409
    idempotency_in_progress; once the first is done, a retry gets its response again."""
    keyed = client(company_key, HTTP_IDEMPOTENCY_KEY="race-key")
    body = consignment_body()
    pool = ThreadPoolExecutor(2)
    with table_lock(Consignment) as lock:
        futures = [pool.submit(_call, keyed, "post", CONSIGNMENTS, body) for _ in range(2)]
        lock.waiting(1)  # the one that claimed the key waits on the table
        finished, _running = wait(futures, timeout=20, return_when=FIRST_COMPLETED)
        assert len(finished) == 1
        done = next(iter(finished))
        assert done.result() == (
            409,
            {
                "code": "idempotency_in_progress",
                "detail": done.result()[1]["detail"],
            },
        )
        # Another body under the key is refused at once, even while the first runs.
        other = _call(keyed, "post", CONSIGNMENTS, consignment_body("RACE-2"))
        assert other[0] == 422 and other[1]["code"] == "idempotency_key_reused"
    statuses = sorted(f.result(timeout=60)[0] for f in futures)
    pool.shutdown()
    assert statuses == [201, 409]
    replay = keyed.post(CONSIGNMENTS, body, format="json")
    connections.close_all()
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert Consignment.objects.count() == 1


def test_two_if_match_writers_of_one_consignment_one_wins_one_gets_412(
    company, company_key
) -> None:
    from tests.tracking.conftest import make_consignment

    consignment = make_consignment(company)
    url = f"{CONSIGNMENTS}{consignment.pk}/"
    reader = client(company_key)
    etag = reader.get(url)["ETag"]
    pool = ThreadPoolExecutor(2)
    with row_lock(Consignment, consignment.pk) as lock:
        futures = [
            pool.submit(
                _call,
                client(company_key, HTTP_IF_MATCH=etag),
                "patch",
                url,
                {"transport_document_number": number},
            )
            for number in ("BL-A", "BL-B")
        ]
        lock.waiting(2)  # both passed authentication and wait for the row
    results = [f.result(timeout=60) for f in futures]
    pool.shutdown()
    assert sorted(status for status, _body in results) == [200, 412]
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 412)
    assert loser["code"] == "precondition_failed"
    consignment.refresh_from_db()
    assert consignment.transport_document_number == winner["transport_document_number"]


def test_two_if_match_writers_of_one_declaration_one_wins_one_gets_412(
    company, company_key
) -> None:
    from gun.models import Declaration
    from tests.gun.factories import item, payload

    writer = client(company_key)
    created = writer.post("/api/v1/declarations/", payload(company.eori, item()), format="json")
    url = f"/api/v1/declarations/{created.json()['id']}/"
    etag = created["ETag"]
    pool = ThreadPoolExecutor(2)
    with row_lock(Declaration, created.json()["id"]) as lock:
        futures = [
            pool.submit(
                _call,
                client(company_key, HTTP_IF_MATCH=etag),
                "put",
                url,
                payload(company.eori, item(), ref=ref),
            )
            for ref in ("REF-A", "REF-B")
        ]
        lock.waiting(2)
    results = [f.result(timeout=60) for f in futures]
    pool.shutdown()
    assert sorted(status for status, _body in results) == [200, 412]
    winner = next(body for status, body in results if status == 200)
    declaration = Declaration.objects.get()
    assert declaration.client_reference == winner["client_reference"]
    assert declaration.version == 2
