"""The tracking API: partner events, company consignments, isolation and bad input."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CompanyFactory
from tests.tracking.conftest import CONTAINER, make_consignment, post
from tracking.models import Consignment, Event

pytestmark = pytest.mark.django_db

CONSIGNMENTS = "/api/v1/consignments/"
EVENTS = "/api/v1/tracking/events/"
CHED = "CHEDP.FR.2026.0000001"


def body(**values: object) -> dict:
    data = {
        "reference": "ACME-0042",
        "container_numbers": ["CSQU 305438 3"],
        "transport_document_type": "bl",
        "transport_document_number": "MEDU1234567",
        "port": "FRLEH",
        "expected_arrival": (timezone.now() + timedelta(days=2)).isoformat(),
        "categories": ["animal_products", "organic"],
        "ched_references": [CHED],
        "declarations": [{"client_reference": "ACME-DECL-1"}],
    }
    data.update(values)
    return data


def event_body(target: Consignment, **values: object) -> dict:
    data = {
        "consignment": {
            "company_eori": target.company.eori,
            "reference": target.reference,
        },
        "kind": "prenotification",
        "occurred_at": timezone.now().isoformat(),
        "source_event_id": "traces-1",
        "payload": {"ched_reference": CHED},
    }
    data.update(values)
    return data


def test_company_creates_a_consignment_and_reads_its_timeline(api, company_key) -> None:
    created = api(company_key).post(CONSIGNMENTS, body(post="FRLEH4"), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["container_numbers"] == [CONTAINER]
    assert created.json()["declarations"][0]["client_reference"] == "ACME-DECL-1"
    detail = api(company_key).get(f"{CONSIGNMENTS}{created.json()['id']}/").json()
    steps = {step["code"]: step for step in detail["timeline"]["steps"]}
    assert steps["prenotification"]["state"] == "waiting"
    assert steps["organic_check"]["waiting_on"] == "DGCCRF"
    assert steps["fl_certificate"]["state"] == "not_required"
    assert detail["events"] == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("container_numbers", ["CSQU3054384"], "container_invalid"),
        ("container_numbers", ["NOT-A-BOX"], "container_invalid"),
        ("container_numbers", "CSQU3054383", "not_a_list"),
        ("ched_references", ["CHEDX.FR.2026.0000001"], "ched_invalid"),
        ("categories", ["weapons"], "invalid_choice"),
        ("port", "FRPAR", "invalid_choice"),
        ("transport_document_type", "ship", "invalid_choice"),
        ("reference", "x" * 36, "max_length"),
        ("expected_arrival", "tomorrow", "invalid"),
        ("post", "FRMRS4", "post_port"),
        ("declarations", [{}], "required"),
    ],
)
def test_bad_consignment_input_is_refused_and_nothing_is_created(
    api, company_key, field, value, code
) -> None:
    post("FRMRS4")
    response = api(company_key).post(CONSIGNMENTS, body(**{field: value}), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"] or code == "post_port"
    assert not Consignment.objects.exists()


def test_malformed_json_is_a_400(api, company_key) -> None:
    response = api(company_key).post(CONSIGNMENTS, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_reference_is_unique_per_company_only(api, company_key, other_company_key) -> None:
    assert api(company_key).post(CONSIGNMENTS, body(), format="json").status_code == 201
    again = api(company_key).post(CONSIGNMENTS, body(), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "consignment_reference_taken"
    assert api(other_company_key).post(CONSIGNMENTS, body(), format="json").status_code == 201
    second = api(company_key).post(CONSIGNMENTS, body(reference="ACME-0043"), format="json")
    renamed = api(company_key).patch(
        f"{CONSIGNMENTS}{second.json()['id']}/", {"reference": "ACME-0042"}, format="json"
    )
    assert renamed.status_code == 409
    assert renamed.json()["code"] == "consignment_reference_taken"
    assert Consignment.objects.get(pk=second.json()["id"]).reference == "ACME-0043"


def test_update_changes_fields_and_validates(api, company, company_key) -> None:
    consignment = make_consignment(company)
    url = f"{CONSIGNMENTS}{consignment.pk}/"
    ok = api(company_key).patch(url, {"categories": ["plants"]}, format="json")
    assert ok.status_code == 200
    assert ok.json()["categories"] == ["plants"]
    bad = api(company_key).patch(url, {"container_numbers": ["ABCU1234567"]}, format="json")
    assert bad.status_code == 400
    consignment.refresh_from_db()
    assert consignment.container_numbers == [CONTAINER]


def test_another_company_sees_404_on_every_endpoint(
    api, company, other_company_key, company_key
) -> None:
    consignment = make_consignment(company)
    url = f"{CONSIGNMENTS}{consignment.pk}/"
    other = api(other_company_key)
    assert other.get(url).status_code == 404
    assert other.patch(url, {"categories": []}, format="json").status_code == 404
    assert other.get(CONSIGNMENTS).json()["count"] == 0
    assert other.get(CONSIGNMENTS, {"search": CONTAINER}).json()["count"] == 0
    assert api(company_key).get(CONSIGNMENTS).json()["count"] == 1


def test_company_endpoints_need_a_company_key(api, partner_key) -> None:
    assert api(partner_key("TRACES")).get(CONSIGNMENTS).status_code == 403
    assert api(None).get(CONSIGNMENTS).status_code in (401, 403)


def test_list_filters_search_and_paginates(api, company, company_key) -> None:
    in_mrs = make_consignment(
        company, port="FRMRS", container_numbers=["MSKU0000001"][:0], ched_references=[CHED]
    )
    make_consignment(
        company,
        declarations=[{"mrn": "21DE27364916384836"}],
        expected_arrival=timezone.now() + timedelta(days=30),
    )
    client = api(company_key)
    assert client.get(CONSIGNMENTS, {"port": "FRMRS"}).json()["results"][0]["id"] == in_mrs.pk
    assert client.get(CONSIGNMENTS, {"search": CHED}).json()["count"] == 1
    assert client.get(CONSIGNMENTS, {"search": "21DE27364916384836"}).json()["count"] == 1
    assert client.get(CONSIGNMENTS, {"search": CONTAINER}).json()["count"] == 1
    soon = (timezone.now() + timedelta(days=10)).date().isoformat()
    assert client.get(CONSIGNMENTS, {"arrival_to": soon}).json()["count"] == 1
    assert client.get(CONSIGNMENTS, {"status": "expected"}).json()["count"] == 2
    assert client.get(CONSIGNMENTS, {"page_size": 1}).json()["next"]
    assert client.get(CONSIGNMENTS, {"status": "lost"}).status_code == 400
    assert client.get(CONSIGNMENTS, {"arrival_from": "soon"}).status_code == 400


def test_list_queries_do_not_grow_with_the_data(
    api, company, company_key, django_assert_max_num_queries
) -> None:
    for _ in range(15):
        make_consignment(company, declarations=[{"client_reference": "X"}])
    with django_assert_max_num_queries(6):
        assert api(company_key).get(CONSIGNMENTS).status_code == 200


def test_partner_posts_its_event_once_even_when_delivered_twice(api, company, partner_key) -> None:
    consignment = make_consignment(company)
    traces = api(partner_key("TRACES"))
    delivery = event_body(consignment)
    first = traces.post(EVENTS, delivery, format="json")
    assert first.status_code == 201, first.json()
    again = traces.post(EVENTS, delivery, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Event.objects.count() == 1
    consignment.refresh_from_db()
    assert consignment.status == "in_progress"


@pytest.mark.parametrize(
    "key",
    [
        {"container_number": CONTAINER},
        {"ched_reference": CHED},
    ],
)
def test_partner_may_name_the_consignment_by_container_or_ched(
    api, company, partner_key, key
) -> None:
    consignment = make_consignment(company, ched_references=[CHED])
    response = api(partner_key("PORT")).post(
        EVENTS,
        event_body(consignment, consignment=key, kind="arrival", payload={}),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["consignment"] == consignment.pk


def test_partner_may_post_only_its_own_kinds(api, company, partner_key) -> None:
    consignment = make_consignment(company)
    response = api(partner_key("PORT")).post(EVENTS, event_body(consignment), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "kind_not_allowed"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"kind": "teleported"}, 400, "invalid"),
        (
            {"consignment": {"company_eori": "FR123456782", "reference": "nope"}},
            422,
            "consignment_unknown",
        ),
        ({"consignment": {"container_number": "CSQU3054384"}}, 400, "invalid"),
        ({"consignment": {}}, 400, "invalid"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, 400, "invalid"),
        ({"occurred_at": "yesterday"}, 400, "invalid"),
        ({"payload": {"ched_reference": "CHED.X"}}, 400, "invalid"),
        ({"payload": {}}, 400, "invalid"),
        ({"payload": {"ched_reference": CHED, "extra": "x"}}, 400, "invalid"),
        ({"payload": []}, 400, "invalid"),
        ({"source_event_id": "x" * 81}, 400, "invalid"),
    ],
)
def test_bad_partner_events_are_refused_and_nothing_is_recorded(
    api, company, partner_key, change, status, code
) -> None:
    consignment = make_consignment(company)
    response = api(partner_key("TRACES")).post(
        EVENTS, event_body(consignment, **change), format="json"
    )
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not Event.objects.exists()


def test_far_future_error_names_the_field(api, company, partner_key) -> None:
    consignment = make_consignment(company)
    future = (timezone.now() + timedelta(days=2)).isoformat()
    response = api(partner_key("TRACES")).post(
        EVENTS, event_body(consignment, occurred_at=future), format="json"
    )
    assert response.json()["errors"]["occurred_at"][0]["code"] == "too_far_in_future"


def test_control_result_payload_is_validated(api, company, partner_key) -> None:
    consignment = make_consignment(company)
    sivep = api(partner_key("SIVEP"))
    bad = sivep.post(
        EVENTS,
        event_body(consignment, kind="physical_check", payload={"result": "meh"}),
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"]["payload"]["result"][0]["code"] == "invalid_choice"
    ok = sivep.post(
        EVENTS,
        event_body(consignment, kind="physical_check", payload={"result": "non_compliant"}),
        format="json",
    )
    assert ok.status_code == 201
    consignment.refresh_from_db()
    assert consignment.status == "blocked"


def test_events_endpoint_refuses_company_keys(api, company, company_key) -> None:
    consignment = make_consignment(company)
    response = api(company_key).post(EVENTS, event_body(consignment), format="json")
    assert response.status_code == 403
    assert not Event.objects.exists()


def test_ambiguous_container_is_not_guessed(api, company, partner_key) -> None:
    make_consignment(company)
    other = make_consignment(CompanyFactory())
    response = api(partner_key("PORT")).post(
        EVENTS,
        event_body(other, consignment={"container_number": CONTAINER}, kind="arrival", payload={}),
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "ambiguous_consignment"
    assert not Event.objects.exists()
