"""How a partner event names its consignment (container with its transport document, CHED,
EORI + reference) and what a replayed source_event_id may carry."""

import json

import pytest

from tests.factories import CompanyFactory
from tests.tracking.conftest import CONTAINER, make_consignment, occurred
from tracking.models import Consignment, Event
from tracking.selectors import (
    ConsignmentAmbiguous,
    ConsignmentUnknown,
    consignment_named_by_partner,
)

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/tracking/events/"
CHED = "CHEDP.FR.2026.0000001"
OTHER_CHED = "CHEDP.FR.2026.0000002"


def arrival(consignment_key: dict, source_event_id: str = "port-1", **values: object) -> dict:
    return {
        "consignment": consignment_key,
        "kind": "arrival",
        "occurred_at": occurred(-1).isoformat(),
        "source_event_id": source_event_id,
        "payload": {},
        **values,
    }


@pytest.fixture
def port(api, partner_key):
    return api(partner_key("PORT"))


@pytest.fixture
def two_holders(company):
    """Two companies that registered the same container, each with its own BL and CHED."""
    mine = make_consignment(company, transport_document_number="BL-MINE", ched_references=[CHED])
    theirs = make_consignment(
        CompanyFactory(), transport_document_number="BL-THEIRS", ched_references=[OTHER_CHED]
    )
    return mine, theirs


def test_a_container_held_by_two_companies_alone_is_409_and_reveals_nothing(
    port, two_holders
) -> None:
    mine, theirs = two_holders
    response = port.post(EVENTS, arrival({"container_number": CONTAINER}), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "ambiguous_consignment"
    text = json.dumps(body)
    for secret in (theirs.reference, theirs.company.eori, mine.reference, str(theirs.pk)):
        assert secret not in text
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("key", "which"),
    [
        ({"container_number": CONTAINER, "transport_document_number": "BL-MINE"}, 0),
        ({"container_number": CONTAINER, "transport_document_number": "BL-THEIRS"}, 1),
        ({"ched_reference": CHED}, 0),
        ({"ched_reference": OTHER_CHED, "container_number": CONTAINER}, 1),
    ],
)
def test_the_container_with_its_transport_document_or_the_ched_names_one(
    port, two_holders, key, which
) -> None:
    response = port.post(EVENTS, arrival(key), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["consignment"] == two_holders[which].pk
    assert Event.objects.get().consignment_id == two_holders[which].pk


def test_eori_and_reference_name_it_even_when_the_container_is_shared(port, two_holders) -> None:
    theirs = two_holders[1]
    key = {"company_eori": theirs.company.eori, "reference": theirs.reference}
    response = port.post(EVENTS, arrival(key), format="json")
    assert response.status_code == 201
    assert response.json()["consignment"] == theirs.pk


def test_every_criterion_given_must_hold(port, two_holders) -> None:
    key = {"container_number": CONTAINER, "transport_document_number": "BL-NOBODY"}
    response = port.post(EVENTS, arrival(key), format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "consignment_unknown"
    mismatch = {
        "ched_reference": CHED,
        "transport_document_number": "BL-THEIRS",
        "container_number": CONTAINER,
    }
    assert port.post(EVENTS, arrival(mismatch), format="json").status_code == 422
    assert not Event.objects.exists()


def test_the_same_ched_registered_twice_is_ambiguous(port, company) -> None:
    make_consignment(company, ched_references=[CHED], container_numbers=[])
    make_consignment(CompanyFactory(), ched_references=[CHED], container_numbers=[])
    response = port.post(EVENTS, arrival({"ched_reference": CHED}), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "ambiguous_consignment"


def test_a_container_alone_resolves_when_the_other_holder_has_exited(company) -> None:
    mine, theirs = (make_consignment(company), make_consignment(CompanyFactory()))
    Consignment.objects.filter(pk=theirs.pk).update(status="exited")
    assert consignment_named_by_partner(container_number=CONTAINER) == mine
    Consignment.objects.filter(pk=mine.pk).update(status="exited")
    with pytest.raises(ConsignmentUnknown):
        consignment_named_by_partner(container_number=CONTAINER)
    # EORI + reference is unique: it names an exited consignment too.
    assert consignment_named_by_partner(company_eori=company.eori, reference=mine.reference) == mine


def test_half_a_key_names_nothing(company) -> None:
    make_consignment(company)
    for key in ({"company_eori": company.eori}, {"transport_document_number": "BL-1"}, {}):
        with pytest.raises(ConsignmentUnknown):
            consignment_named_by_partner(**key)
    make_consignment(CompanyFactory())
    with pytest.raises(ConsignmentAmbiguous):
        consignment_named_by_partner(container_number=CONTAINER)


@pytest.mark.parametrize(
    "key",
    [
        {"transport_document_number": "BL-1"},
        {"company_eori": "FR732829320"},
        {"reference": "REF-1"},
    ],
)
def test_an_incomplete_key_is_400(port, company, key) -> None:
    make_consignment(company)
    response = port.post(EVENTS, arrival(key), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_replay_with_the_same_content_is_200_and_other_content_is_409(port, company) -> None:
    consignment = make_consignment(company)
    key = {"company_eori": company.eori, "reference": consignment.reference}
    first_body = arrival(key)
    first = port.post(EVENTS, first_body, format="json")
    assert first.status_code == 201
    again = port.post(EVENTS, first_body, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    for change in (
        {"occurred_at": occurred(-2).isoformat()},
        {"kind": "documentary_check", "payload": {"result": "compliant"}},
        {"author": "someone else"},
    ):
        response = port.post(EVENTS, {**first_body, **change}, format="json")
        assert response.status_code in (409, 403), response.json()
        if response.status_code == 409:
            assert response.json()["code"] == "event_conflict"
    other = make_consignment(company, reference="OTHER-REF", container_numbers=[])
    moved = {
        **first_body,
        "consignment": {"company_eori": company.eori, "reference": other.reference},
    }
    response = port.post(EVENTS, moved, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "event_conflict"
    event = Event.objects.get()
    assert (event.consignment_id, event.kind, event.author) == (consignment.pk, "arrival", "PORT")
