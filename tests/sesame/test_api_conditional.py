"""ETag on every object, If-Match on writes (412 precondition_failed), Location on 201."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gun.models import Declaration
from tests.gun.factories import di_doc, item, payload, publish_di
from tests.tracking.conftest import make_consignment, occurred
from tracking.models import Consignment

pytestmark = pytest.mark.django_db

DECLARATIONS = "/api/v1/declarations/"
CONSIGNMENTS = "/api/v1/consignments/"


@pytest.fixture
def client_co(api, company_key):
    return api(company_key)


@pytest.fixture
def declaration(client_co, company) -> dict:
    di = publish_di(holder=company.eori)
    response = client_co.post(
        DECLARATIONS, payload(company.eori, item(1, di_doc(di.reference))), format="json"
    )
    assert response.status_code == 201
    return {**response.json(), "etag": response["ETag"], "location": response["Location"]}


def test_a_created_declaration_has_a_location_and_the_etag_its_get_gives(
    client_co, declaration
) -> None:
    assert declaration["location"].endswith(f"{DECLARATIONS}{declaration['id']}/")
    assert declaration["location"].startswith("http")
    read = client_co.get(declaration["location"])
    assert read.status_code == 200
    assert read["ETag"] == declaration["etag"]
    assert read["ETag"].startswith('"') and not read["ETag"].startswith("W/")


def test_put_with_the_current_etag_succeeds_and_with_a_stale_one_is_412(
    client_co, company, declaration
) -> None:
    url = f"{DECLARATIONS}{declaration['id']}/"
    body = payload(company.eori, item(), ref="CHANGED")
    done = client_co.put(url, body, format="json", HTTP_IF_MATCH=declaration["etag"])
    assert done.status_code == 200, done.json()
    assert done["ETag"] != declaration["etag"]
    assert client_co.get(url)["ETag"] == done["ETag"]
    stale = client_co.put(
        url,
        payload(company.eori, item(), ref="LOST"),
        format="json",
        HTTP_IF_MATCH=declaration["etag"],
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert Declaration.objects.get().client_reference == "CHANGED"


@pytest.mark.parametrize(
    ("header", "status"),
    [("*", 200), ('"nope", {etag}', 200), ("W/{etag}", 412), ('"nope"', 412)],
)
def test_if_match_forms(client_co, company, declaration, header, status) -> None:
    url = f"{DECLARATIONS}{declaration['id']}/"
    header = header.format(etag=declaration["etag"])
    response = client_co.put(
        url, payload(company.eori, item()), format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == status


def test_state_changing_posts_honour_if_match(api, partner_key, client_co, declaration) -> None:
    url = f"{DECLARATIONS}{declaration['id']}/"
    stale = declaration["etag"]
    validated = client_co.post(url + "validate/", format="json", HTTP_IF_MATCH=stale)
    assert validated.status_code == 200, validated.json()
    current = validated["ETag"]
    assert current != stale and client_co.get(url)["ETag"] == current
    assert client_co.post(url + "cancel/", HTTP_IF_MATCH=stale).status_code == 412
    delta = api(partner_key("DELTA"))
    assert delta.post(url + "release/", HTTP_IF_MATCH=stale).status_code == 412
    released = delta.post(url + "release/", HTTP_IF_MATCH=current)
    assert released.status_code == 200
    assert Declaration.objects.get().status == "released"


def test_another_companys_object_is_404_with_if_match_too(
    api, other_company_key, declaration
) -> None:
    other = api(other_company_key)
    url = f"{DECLARATIONS}{declaration['id']}/"
    assert other.post(url + "cancel/", HTTP_IF_MATCH="*").status_code == 404
    assert other.post(url + "cancel/", HTTP_IF_MATCH=declaration["etag"]).status_code == 404


def test_a_consignments_etag_changes_with_its_fields_and_its_events(
    client_co, company, api, partner_key
) -> None:
    consignment = make_consignment(company)
    url = f"{CONSIGNMENTS}{consignment.pk}/"
    first = client_co.get(url)["ETag"]
    assert client_co.get(url)["ETag"] == first
    api(partner_key("PORT")).post(
        "/api/v1/tracking/events/",
        {
            "consignment": {"company_eori": company.eori, "reference": consignment.reference},
            "kind": "arrival",
            "occurred_at": occurred(-1).isoformat(),
            "source_event_id": "port-1",
            "payload": {},
        },
        format="json",
    )
    after_event = client_co.get(url)["ETag"]
    assert after_event != first
    stale = client_co.patch(
        url, {"transport_document_number": "BL-9"}, format="json", HTTP_IF_MATCH=first
    )
    assert stale.status_code == 412
    done = client_co.patch(
        url, {"transport_document_number": "BL-9"}, format="json", HTTP_IF_MATCH=after_event
    )
    assert done.status_code == 200
    assert done["ETag"] == client_co.get(url)["ETag"] != after_event
    assert Consignment.objects.get().transport_document_number == "BL-9"


def test_a_created_consignment_has_a_location(client_co) -> None:
    response = client_co.post(
        CONSIGNMENTS,
        {
            "reference": "LOC-1",
            "transport_document_type": "bl",
            "transport_document_number": "BL-1",
            "port": "FRLEH",
            "expected_arrival": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    read = client_co.get(response["Location"])
    assert read.status_code == 200
    assert read["ETag"] == response["ETag"]
    assert read.json()["id"] == response.json()["id"]


def test_a_partner_document_has_an_etag_and_its_publication_honours_if_match(
    api, partner_key, company
) -> None:
    from tests.gun.test_api import di_body

    semae = api(partner_key("SEMAE"))
    body = di_body(company.eori, "2016-01-0000900-00")
    created = semae.post("/api/v1/partner-documents/", body, format="json")
    assert created.status_code == 201
    read = semae.get(created["Location"])
    assert read["ETag"] == created["ETag"]
    changed = di_body(company.eori, "2016-01-0000900-00", quantity="200.000")
    stale = semae.post("/api/v1/partner-documents/", changed, format="json", HTTP_IF_MATCH='"old"')
    assert stale.status_code == 412
    done = semae.post(
        "/api/v1/partner-documents/", changed, format="json", HTTP_IF_MATCH=created["ETag"]
    )
    assert done.status_code == 200
    assert done["ETag"] != created["ETag"]
