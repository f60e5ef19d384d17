"""Strict values on every endpoint: ASCII decimals, RFC 3339 dates within 2000-2100 written
back with their real offset, no control characters, no unknown fields, no body where none is
taken."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from gun.models import Declaration, PartnerDocument
from tests.gun.factories import di_doc, item, payload, publish_di
from tests.tracking.conftest import make_consignment
from tracking.models import Consignment, Event

pytestmark = pytest.mark.django_db

DECLARATIONS = "/api/v1/declarations/"
CONSIGNMENTS = "/api/v1/consignments/"
EVENTS = "/api/v1/tracking/events/"


@pytest.fixture
def client_co(api, company_key):
    return api(company_key)


def consignment_body(**values: object) -> dict:
    return {
        "reference": "STRICT-1",
        "container_numbers": ["CSQU3054383"],
        "transport_document_type": "bl",
        "transport_document_number": "BL-1",
        "port": "FRLEH",
        "expected_arrival": (timezone.now() + timedelta(days=2)).isoformat(),
        **values,
    }


def first_error(body: dict) -> dict:
    errors = body["errors"]
    while isinstance(errors, dict):
        errors = next(iter(errors.values()))
    return errors[0]


@pytest.mark.parametrize(
    "quantity",
    ["1_000", "١٢٣", "１２３", " 12", "12 ", "1e3", "0x10", "+5", True, "", "1.2.3", 123, 12.5],
)
def test_a_quantity_not_written_with_ascii_digits_is_400(client_co, company, quantity) -> None:
    body = payload(company.eori, item(1, net_mass="1"))
    body["items"][0]["net_mass_kg"] = quantity
    response = client_co.post(DECLARATIONS, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"]["items"]
    assert not Declaration.objects.exists()


@pytest.mark.parametrize("quantity", ["123", "123.450", "0", "0.5"])
def test_plain_decimals_pass(client_co, company, quantity) -> None:
    body = payload(company.eori, item(1))
    body["items"][0]["net_mass_kg"] = quantity
    assert client_co.post(DECLARATIONS, body, format="json").status_code == 201


def test_an_integer_written_loosely_is_400(client_co, company) -> None:
    body = payload(company.eori, item(1))
    body["items"][0]["item_number"] = "1_0"
    response = client_co.post(DECLARATIONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["items"]["0"]["item_number"][0]["code"] == "invalid"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0400-01-01T00:00:00+00:00", "date_out_of_range"),
        ("2101-01-01T00:00:00Z", "date_out_of_range"),
        ("1999-12-31T23:59:59Z", "date_out_of_range"),
        ("2026-03-01T10:00:00", "invalid"),
        ("2026-03-01 10:00:00+01:00", "invalid"),
        ("2026-03-01", "invalid"),
        ("2026-03-01t10:00:00z", "invalid"),
        ("2026-W09-7T10:00:00Z", "invalid"),
        (1772352000, "invalid"),
    ],
)
def test_a_date_time_not_rfc_3339_or_outside_2000_2100_is_400(client_co, value, code) -> None:
    response = client_co.post(CONSIGNMENTS, consignment_body(expected_arrival=value), format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["expected_arrival"][0]["code"] == code
    assert not Consignment.objects.exists()


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2026-07-01T12:00:00Z", "2026-07-01T14:00:00+02:00"),
        ("2026-01-15T08:30:00.250+01:00", "2026-01-15T08:30:00.250000+01:00"),
        ("2100-12-31T22:00:00Z", "2100-12-31T23:00:00+01:00"),
        ("2000-01-01T00:00:00+00:00", "2000-01-01T01:00:00+01:00"),
    ],
)
def test_date_times_are_written_back_as_rfc_3339_with_the_real_offset(
    client_co, given, written
) -> None:
    response = client_co.post(CONSIGNMENTS, consignment_body(expected_arrival=given), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["expected_arrival"] == written


def test_a_document_date_outside_2000_2100_is_400(client_co, company) -> None:
    doc = di_doc("2016-01-0000122-00")
    doc["date"] = "0016-01-12"
    response = client_co.post(DECLARATIONS, payload(company.eori, item(1, doc)), format="json")
    assert response.status_code == 400
    assert first_error(response.json())["code"] == "date_out_of_range"


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\n", "\t"])
def test_control_characters_are_refused_in_identifiers_and_references(
    client_co, company, api, partner_key, char
) -> None:
    response = client_co.post(
        CONSIGNMENTS, consignment_body(reference=f"REF{char}1"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["reference"][0]["code"] == "control_character"
    declaration = payload(company.eori, item(1, di_doc(f"2016-01-0000122-00{char}")))
    response = client_co.post(DECLARATIONS, declaration, format="json")
    assert response.status_code == 400
    assert first_error(response.json())["code"] == "control_character"
    consignment = make_consignment(company)
    event = {
        "consignment": {"company_eori": company.eori, "reference": consignment.reference},
        "kind": "arrival",
        "occurred_at": timezone.now().isoformat(),
        "source_event_id": f"port{char}1",
        "payload": {},
    }
    response = api(partner_key("PORT")).post(EVENTS, event, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["source_event_id"][0]["code"] == "control_character"
    assert not Declaration.objects.exists() and not Event.objects.exists()
    assert Consignment.objects.count() == 1


def test_control_characters_in_a_partner_payload_are_refused(api, partner_key, company) -> None:
    consignment = make_consignment(company)
    event = {
        "consignment": {"company_eori": company.eori, "reference": consignment.reference},
        "kind": "physical_check",
        "occurred_at": timezone.now().isoformat(),
        "source_event_id": "sivep-1",
        "payload": {"result": "compliant", "note": "ok\x1b[31m"},
    }
    response = api(partner_key("SIVEP")).post(EVENTS, event, format="json")
    assert response.status_code == 400
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("path", "change"),
    [
        (CONSIGNMENTS, {"colour": "red"}),
        (CONSIGNMENTS, {"declarations": [{"mrn": "21DE27364916384836", "extra": 1}]}),
    ],
)
def test_unknown_fields_are_refused_on_consignments(client_co, path, change) -> None:
    response = client_co.post(path, consignment_body(**change), format="json")
    assert response.status_code == 400
    assert first_error(response.json())["code"] == "unknown_field"
    assert not Consignment.objects.exists()


def test_unknown_fields_are_refused_in_partner_events_and_patches(
    client_co, api, partner_key, company
) -> None:
    consignment = make_consignment(company)
    event = {
        "consignment": {"company_eori": company.eori, "reference": consignment.reference, "x": 1},
        "kind": "arrival",
        "occurred_at": timezone.now().isoformat(),
        "source_event_id": "port-1",
        "payload": {},
    }
    response = api(partner_key("PORT")).post(EVENTS, event, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["consignment"]["x"][0]["code"] == "unknown_field"
    patch = client_co.patch(
        f"{CONSIGNMENTS}{consignment.pk}/", {"status": "released"}, format="json"
    )
    assert patch.status_code == 400
    assert patch.json()["errors"]["status"][0]["code"] == "unknown_field"
    consignment.refresh_from_db()
    assert consignment.status == "expected"


@pytest.mark.parametrize(
    ("body", "code"),
    [(b'{"force": true}', "invalid"), (b"[1]", "invalid"), (b"{", "malformed_json")],
)
def test_an_action_that_takes_no_body_refuses_one(client, company, company_key, body, code) -> None:
    di = publish_di(holder=company.eori)

    lodged = client.post(
        DECLARATIONS,
        data=payload(company.eori, item(1, di_doc(di.reference))),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {company_key}",
    ).json()
    response = client.post(
        f"{DECLARATIONS}{lodged['id']}/validate/",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {company_key}",
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Declaration.objects.get().status == "anticipated"
    form = APIClient()
    form.credentials(HTTP_AUTHORIZATION=f"Api-Key {company_key}")
    empty_form = form.post(f"{DECLARATIONS}{lodged['id']}/validate/", {}, format="multipart")
    assert empty_form.status_code == 200  # an empty form is no body
    text = client.post(
        f"{DECLARATIONS}{lodged['id']}/cancel/",
        data=b"force",
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Api-Key {company_key}",
    )
    assert text.status_code == 415
    for empty in (b"", b"{}", b"  "):
        assert client.post(
            f"{DECLARATIONS}{lodged['id']}/cancel/",
            data=empty,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {company_key}",
        ).status_code in (200, 409)
    assert Declaration.objects.get().status == "cancelled"


def test_partner_document_quantities_are_strict_too(api, partner_key, company) -> None:
    from tests.gun.test_api import di_body

    body = di_body(company.eori, "2016-01-0000122-00", quantity="1_000")
    response = api(partner_key("SEMAE")).post("/api/v1/partner-documents/", body, format="json")
    assert response.status_code == 400
    assert not PartnerDocument.objects.exists()
