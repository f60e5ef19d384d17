"""Idempotency-Key on POST and PATCH: replay, reuse with another body, takeover after a crash;
and the request id every response carries."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from gun.models import Declaration
from sesame.api.idempotency import (
    Claimed,
    idempotency_claim,
    idempotency_finish,
    idempotency_records_purge,
    storable,
)
from sesame.models import IdempotencyRecord
from tests.gun.factories import item, payload
from tracking.models import Consignment

pytestmark = pytest.mark.django_db

DECLARATIONS = "/api/v1/declarations/"
CONSIGNMENTS = "/api/v1/consignments/"


def consignment_body(reference: str = "IDEM-1") -> dict:
    return {
        "reference": reference,
        "container_numbers": ["CSQU3054383"],
        "transport_document_type": "bl",
        "transport_document_number": "BL-1",
        "port": "FRLEH",
        "expected_arrival": (timezone.now() + timedelta(days=2)).isoformat(),
    }


@pytest.fixture
def client_co(api, company_key):
    return api(company_key)


def test_a_retried_post_replays_the_first_response_and_creates_nothing_more(
    client_co, company
) -> None:
    body = payload(company.eori, item())
    first = client_co.post(DECLARATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    again = client_co.post(DECLARATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert again["ETag"] == first["ETag"]
    assert again["X-Request-Id"] != first["X-Request-Id"]
    assert Declaration.objects.count() == 1
    # Without a key, the same body is a second declaration (a declaration has no natural key).
    assert client_co.post(DECLARATIONS, body, format="json").status_code == 201
    assert Declaration.objects.count() == 2


def test_the_quoted_form_of_the_header_names_the_same_key(client_co, company) -> None:
    body = payload(company.eori, item())
    client_co.post(DECLARATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY='"8e03978e-40d5"')
    again = client_co.post(DECLARATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="8e03978e-40d5")
    assert again["Idempotent-Replayed"] == "true"
    assert Declaration.objects.count() == 1


def test_the_same_key_with_another_body_or_path_is_422_and_changes_nothing(
    client_co, company
) -> None:
    body = payload(company.eori, item())
    client_co.post(DECLARATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = payload(company.eori, item(), ref="OTHER")
    response = client_co.post(DECLARATIONS, other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    elsewhere = client_co.post(
        CONSIGNMENTS, consignment_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert elsewhere.status_code == 422
    assert Declaration.objects.count() == 1
    assert not Consignment.objects.exists()


def test_keys_belong_to_their_company(api, company_key, other_company_key, company) -> None:
    body = consignment_body()
    mine = api(company_key).post(CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    theirs = api(other_company_key).post(
        CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs


def test_a_refusal_is_replayed_too(client_co) -> None:
    bad = {**consignment_body(), "port": "XXXXX"}
    first = client_co.post(CONSIGNMENTS, bad, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert first.status_code == 400
    again = client_co.post(CONSIGNMENTS, bad, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_patch_is_idempotent_under_a_key(client_co) -> None:
    created = client_co.post(CONSIGNMENTS, consignment_body(), format="json").json()
    url = f"{CONSIGNMENTS}{created['id']}/"
    first = client_co.patch(
        url, {"transport_document_number": "BL-2"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1"
    )
    assert first.status_code == 200
    again = client_co.patch(
        url, {"transport_document_number": "BL-2"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1"
    )
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("value", ["", " ", "é", "a" * 256, '"a b"'])
def test_a_malformed_key_is_400(client_co, value) -> None:
    response = client_co.post(
        CONSIGNMENTS, consignment_body(), format="json", HTTP_IDEMPOTENCY_KEY=value
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert not Consignment.objects.exists()


def test_without_a_valid_api_key_the_header_is_ignored_and_nothing_stored(api) -> None:
    response = api("nope.nope").post(
        CONSIGNMENTS, consignment_body(), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_a_claim_whose_lease_ran_out_is_taken_over_by_the_retry(client_co, company) -> None:
    """The first request's process died mid-way: after the lease, a retry runs it again."""
    body = consignment_body()
    client_co.post(CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="crash")
    record = IdempotencyRecord.objects.get()
    Consignment.objects.all().delete()
    # As a crash leaves it: claimed, no response.
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=None, body=b"", locked_until=timezone.now() + timedelta(seconds=30)
    )
    running = client_co.post(CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="crash")
    assert running.status_code == 409
    assert running.json()["code"] == "idempotency_in_progress"
    assert running["Retry-After"] == "1"
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    retried = client_co.post(CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="crash")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Consignment.objects.count() == 1


def test_an_expired_key_runs_the_request_again_and_the_purge_removes_old_records(
    client_co,
) -> None:
    body = consignment_body()
    client_co.post(CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    again = client_co.post(CONSIGNMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 409  # ran again: the reference now exists
    assert again.json()["code"] == "consignment_reference_taken"
    assert "Idempotent-Replayed" not in again
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency_records_purge() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    ("status", "headers", "stored"),
    [
        (201, {}, True),
        (409, {}, True),
        (409, {"Retry-After": "1"}, False),
        (429, {}, False),
        (500, {}, False),
        (503, {}, False),
    ],
)
def test_what_a_retry_gets_again(status, headers, stored) -> None:
    from django.http import HttpResponse

    response = HttpResponse(b"{}", status=status, headers=headers)
    assert storable(response) is stored
    claim = idempotency_claim(owner="company:1", key=f"k{status}", fingerprint="f")
    assert isinstance(claim, Claimed)
    idempotency_finish(claim=claim, response=response)
    assert IdempotencyRecord.objects.filter(key=f"k{status}").exists() is stored


# --- request ids ------------------------------------------------------------------------------


def test_every_response_carries_a_request_id_taken_from_the_request_when_sane(
    client, api, company_key
) -> None:
    generated = api(company_key).get("/api/v1/me/")["X-Request-Id"]
    assert len(generated) == 32
    assert api(company_key).get("/api/v1/me/")["X-Request-Id"] != generated
    given = api(company_key).get("/api/v1/me/", HTTP_X_REQUEST_ID="trace-123:abc")
    assert given["X-Request-Id"] == "trace-123:abc"
    hostile = api(company_key).get("/api/v1/me/", HTTP_X_REQUEST_ID="a\nb")
    assert hostile["X-Request-Id"] not in ("a\nb", "")
    for response in (
        client.get("/api/v1/nothing/"),
        client.get("/health/"),
        api().get("/api/v1/me/"),
    ):
        assert response["X-Request-Id"]


def test_log_lines_of_a_request_name_its_id(client) -> None:
    from sesame.api.request_id import RequestIdFilter

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/api/v1/me/", HTTP_X_REQUEST_ID="req-42")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 401
    assert [r.request_id for r in records] == ["req-42"]  # type: ignore[attr-defined]
