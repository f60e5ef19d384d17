"""The REST contract (APPOINTMENTS.md §3): paths, fields, codes, isolation, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from appointments.models import Appointment
from appointments.services import appointment_book
from tests.appointments.conftest import MONDAY, at, calendar, consignment

pytestmark = pytest.mark.django_db
THURSDAY = MONDAY + timedelta(days=3)
URL = "/api/v1/appointments/"


@pytest.fixture(autouse=True)
def _monday(clock):
    clock(at(MONDAY, 10))


def book(client, lot, start="2026-12-03T08:00:00+01:00", **extra):
    body = {"consignment": lot.pk, "service": "SIVEP", "start": start, **extra}
    return client.post(URL, body, format="json")


def test_book_answers_the_contract(api, company, company_key):
    lot = consignment(company)
    response = book(api(company_key), lot, containers=["MSCU1234566"], contact_phone="+33612345678")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {
        k: body[k]
        for k in (
            "consignment",
            "post",
            "service",
            "start",
            "end",
            "status",
            "priority",
            "containers",
            "sequence",
            "rebooked_as",
            "result",
        )
    } == {
        "consignment": lot.pk,
        "post": "FRLEH4",
        "service": "SIVEP",
        "start": "2026-12-03T08:00:00+01:00",
        "end": "2026-12-03T08:30:00+01:00",
        "status": "booked",
        "priority": False,
        "containers": ["MSCU1234566"],
        "sequence": 0,
        "rebooked_as": None,
        "result": None,
    }
    assert {"id", "created_at", "updated_at"} <= set(body)


def test_any_offset_names_the_same_instant(api, company, company_key):
    response = book(api(company_key), consignment(company), start="2026-12-03T07:00:00Z")
    assert response.status_code == 201
    assert response.json()["start"] == "2026-12-03T08:00:00+01:00"


@pytest.mark.parametrize(
    ("setup", "body", "status", "code"),
    [
        ({}, {"start": "2026-12-03T08:10:00+01:00"}, 422, "not_a_slot"),
        ({}, {"start": "2026-12-25T08:00:00+01:00"}, 422, "not_a_slot"),
        ({}, {"start": "2026-12-01T09:00:00+01:00"}, 422, "too_late"),
        ({}, {"start": "2027-03-01T08:00:00+01:00"}, 422, "too_far"),
        ({"ched_references": []}, {}, 422, "ched_missing"),
        ({"categories": ["plants"]}, {"service": "DGCCRF"}, 422, "not_applicable"),
        ({}, {"service": "DOUANE"}, 422, "no_customs_control"),
        ({}, {"containers": ["TGHU1234560"]}, 400, "invalid"),
        ({}, {"contact_phone": "06 12"}, 400, "invalid"),
        ({}, {"contact_phone": "+3٣٦١٢٣٤٥٦٧٨"}, 400, "invalid"),  # Arabic-Indic digits
        ({}, {"service": "VET"}, 400, "invalid"),
        ({}, {"start": "tomorrow"}, 400, "invalid"),
    ],
)
def test_booking_refusals(api, company, company_key, setup, body, status, code):
    lot = consignment(company, **setup)
    response = book(api(company_key), lot, **body)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not Appointment.objects.exists()


def test_conflicts_slot_full_and_already_booked(api, company, company_key):
    calendar("SIVEP", capacity=1)
    client = api(company_key)
    lot = consignment(company)
    assert book(client, lot).status_code == 201
    response = book(client, lot, start="2026-12-03T09:00:00+01:00")
    assert (response.status_code, response.json()["code"]) == (409, "already_booked")
    response = book(client, consignment(company))
    assert (response.status_code, response.json()["code"]) == (409, "slot_full")
    assert set(response.json()) >= {"code", "detail"}


def test_malformed_and_hostile_input_is_400_and_changes_nothing(api, company, company_key):
    client = api(company_key)
    for raw in (b"{", b"[]", b'{"consignment": "x"}', b'{"consignment": 1e999}'):
        response = client.post(URL, raw, content_type="application/json")
        assert response.status_code == 400, raw
    response = book(client, consignment(company), note="x" * 5000)
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_another_companys_consignment_and_appointment_are_404(
    api, company, company_key, other_company, other_company_key
):
    mine = consignment(company)
    theirs = consignment(other_company)
    assert book(api(company_key), theirs).status_code == 404
    appointment = appointment_book(consignment=theirs, service="SIVEP", start=at(THURSDAY, 8))
    client = api(company_key)
    for method, path in (
        ("get", f"{URL}{appointment.pk}/"),
        ("get", f"{URL}{appointment.pk}/calendar.ics"),
        ("post", f"{URL}{appointment.pk}/reschedule/"),
        ("post", f"{URL}{appointment.pk}/cancel/"),
    ):
        response = getattr(client, method)(
            path, {"start": "2026-12-03T09:00:00+01:00"}, format="json"
        )
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert client.get(URL).json()["count"] == 0
    book(client, mine)
    listed = client.get(URL).json()
    assert listed["count"] == 1 and listed["results"][0]["consignment"] == mine.pk
    assert set(listed) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize("action", ["check-in", "complete", "no-show", "missed"])
def test_authority_actions_keys(api, company, company_key, partner_key, action):
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    path = f"{URL}{appointment.pk}/{action}/"
    # Only completing takes a body (check-in and no-show refuse one: 400 unknown_field).
    body = {"check": "identity", "result": "compliant"} if action == "complete" else {}
    assert api(company_key).post(path, body, format="json").status_code == 403
    assert api(partner_key("SEMAE")).post(path, body, format="json").status_code == 403
    assert api(partner_key("DGCCRF")).post(path, body, format="json").status_code == 404
    assert api(partner_key("DELTA")).post(path, body, format="json").status_code == 404
    response = api(partner_key("SIVEP")).post(path, body, format="json")
    assert response.status_code == 200, response.content
    expected = {
        "check-in": "checked_in",
        "complete": "completed",
        "no-show": "no_show",
        "missed": "missed_by_authority",
    }[action]
    assert response.json()["status"] == expected
    again = api(partner_key("SIVEP")).post(path, body, format="json")
    if action != "complete":
        assert (again.status_code, again.json()["code"]) == (409, "wrong_status")
    if action == "missed":
        rebooked = response.json()["rebooked_as"]
        assert Appointment.objects.get(pk=rebooked).priority


def test_complete_shows_among_the_consignments_events(api, company, company_key, partner_key):
    lot = consignment(company)
    appointment = appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    response = api(partner_key("SIVEP")).post(
        f"{URL}{appointment.pk}/complete/",
        {"check": "identity", "result": "non_compliant", "note": "Seal broken"},
        format="json",
    )
    assert response.json()["result"] == "non_compliant"
    events = api(company_key).get(f"/api/v1/consignments/{lot.pk}/").json()["events"]
    assert [(e["kind"], e["payload"]["result"]) for e in events] == [
        ("identity_check", "non_compliant")
    ]
    assert events[0]["payload"]["appointment"] == str(appointment.pk)
    bad = api(partner_key("SIVEP")).post(
        f"{URL}{appointment.pk}/complete/", {"check": "x"}, format="json"
    )
    assert bad.status_code in (400, 409)


def test_reschedule_and_cancel(api, company, company_key):
    client = api(company_key)
    created = book(client, consignment(company)).json()
    moved = client.post(
        f"{URL}{created['id']}/reschedule/", {"start": "2026-12-04T13:30:00+01:00"}, format="json"
    )
    assert moved.status_code == 200
    assert (moved.json()["id"], moved.json()["sequence"], moved.json()["start"]) == (
        created["id"],
        1,
        "2026-12-04T13:30:00+01:00",
    )
    bad = client.post(
        f"{URL}{created['id']}/reschedule/", {"start": "2026-12-05T08:00:00+01:00"}, format="json"
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "not_a_slot")
    assert client.get(f"{URL}{created['id']}/").json()["start"] == "2026-12-04T13:30:00+01:00"
    cancelled = client.post(f"{URL}{created['id']}/cancel/", {"reason": "late"}, format="json")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    again = client.post(f"{URL}{created['id']}/cancel/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "wrong_status")
    ics = client.get(f"{URL}{created['id']}/calendar.ics")
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    parsed = Calendar.from_ical(ics.content)
    event = parsed.walk("VEVENT")[0]
    assert str(parsed["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2
    assert str(event["UID"]) == f"appointment-{created['id']}@sesame"


def test_availability(api, company, company_key):
    calendar("SIVEP", capacity=2)
    appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    client = api(company_key)
    response = client.get(
        f"{URL}availability/",
        {"post": "FRLEH4", "service": "SIVEP", "from": "2026-12-03", "to": "2026-12-09"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["post"], body["service"]) == ("FRLEH4", "SIVEP")
    assert body["slots"][0] == {
        "start": "2026-12-03T08:00:00+01:00",
        "end": "2026-12-03T08:30:00+01:00",
        "capacity": 2,
        "free": 1,
    }
    assert len(body["slots"]) == 15 * 5  # Thu, Fri, Mon, Tue, Wed
    for params, code in (
        ({"from": "2026-12-01", "to": "2027-01-01"}, "range_too_long"),
        ({"from": "2026-12-09", "to": "2026-12-01"}, "invalid_range"),
        ({"from": "2026-12-01"}, "required"),
        ({"from": "x", "to": "2026-12-01"}, "invalid"),
    ):
        bad = client.get(f"{URL}availability/", {"post": "FRLEH4", "service": "SIVEP", **params})
        assert bad.status_code == 400, params
        assert code in str(bad.json()["errors"])


def _without_key(queries: CaptureQueriesContext) -> int:
    """The statements of a request but the API key's own (read and last use, cached per process
    for a time the test's clock moves through)."""
    return sum("sesame_apikey" not in query["sql"] for query in queries.captured_queries)


def test_query_counts_do_not_grow_with_appointments(api, company, company_key, clock):
    client = api(company_key)
    params = {"post": "FRLEH4", "service": "SIVEP", "from": "2026-12-01", "to": "2026-12-31"}

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as read:
            assert client.get(f"{URL}availability/", params).status_code == 200
        lot = consignment(company)
        with CaptureQueriesContext(connection) as write:
            assert (
                book(client, lot, start=f"2026-12-{10 + counts.n:02d}T08:00:00+01:00").status_code
                == 201
            )
        counts.n += 1
        return _without_key(read), _without_key(write)

    counts.n = 0
    first = counts()
    weekdays = [MONDAY + timedelta(days=n) for n in (14, 15, 16, 17, 18, 21, 22, 23)]
    for day in weekdays:
        for hour in (9, 10, 14, 15):
            appointment_book(consignment=consignment(company), service="SIVEP", start=at(day, hour))
    assert counts() == first


def test_waitlist_contract(api, company, company_key, other_company_key, clock):
    calendar("SIVEP", capacity=1, hours="mon-fri 08:00-08:30")
    client = api(company_key)
    taken = book(client, consignment(company)).json()
    lot = consignment(company)
    body = {"consignment": lot.pk, "service": "SIVEP", "date": "2026-12-03"}
    joined = client.post(f"{URL}waitlist/", body, format="json")
    assert joined.status_code == 201, joined.content
    entry = joined.json()
    assert {k: entry[k] for k in ("consignment", "service", "date", "status", "offer")} == {
        "consignment": lot.pk,
        "service": "SIVEP",
        "date": "2026-12-03",
        "status": "waiting",
        "offer": None,
    }
    again = client.post(f"{URL}waitlist/", body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_waiting")
    for bad, code in (
        ({"date": "2026-11-01"}, "too_late"),
        ({"date": "2026-12-05"}, "not_a_slot"),
        ({"date": "2027-06-01"}, "too_far"),
        ({"date": "x"}, "invalid"),
    ):
        response = client.post(f"{URL}waitlist/", {**body, **bad}, format="json")
        assert response.json()["code"] == code, bad
    other = api(other_company_key)
    assert other.get(f"{URL}waitlist/{entry['id']}/").status_code == 404
    assert other.post(f"{URL}waitlist/{entry['id']}/accept/").status_code == 404
    premature = client.post(f"{URL}waitlist/{entry['id']}/accept/")
    assert (premature.status_code, premature.json()["code"]) == (409, "wrong_status")
    client.post(f"{URL}{taken['id']}/cancel/", {}, format="json")
    offered = client.get(f"{URL}waitlist/{entry['id']}/").json()
    assert offered["status"] == "offered"
    assert offered["offer"] == {
        "start": "2026-12-03T08:00:00+01:00",
        "expires_at": "2026-11-30T10:30:00+01:00",
    }
    accepted = client.post(f"{URL}waitlist/{entry['id']}/accept/")
    assert accepted.status_code == 201
    assert (accepted.json()["start"], accepted.json()["consignment"]) == (
        "2026-12-03T08:00:00+01:00",
        lot.pk,
    )
    second = client.post(
        f"{URL}waitlist/",
        {"consignment": consignment(company).pk, "service": "SIVEP", "date": "2026-12-03"},
        format="json",
    ).json()
    cancelled = client.post(f"{URL}waitlist/{second['id']}/cancel/")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")


def test_an_expired_offer_is_409_offer_expired(api, company, company_key, clock):
    calendar("SIVEP", capacity=1, hours="mon-fri 08:00-08:30")
    client = api(company_key)
    taken = book(client, consignment(company)).json()
    lot = consignment(company)
    entry = client.post(
        f"{URL}waitlist/",
        {"consignment": lot.pk, "service": "SIVEP", "date": "2026-12-03"},
        format="json",
    ).json()
    client.post(f"{URL}{taken['id']}/cancel/", {}, format="json")
    clock(at(MONDAY, 10, 31))
    late = client.post(f"{URL}waitlist/{entry['id']}/accept/")
    assert (late.status_code, late.json()["code"]) == (409, "offer_expired")


def test_schema_lists_every_appointment_path(api):
    schema = api().get("/api/schema/?format=json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/appointments/",
        "/api/v1/appointments/{id}/",
        "/api/v1/appointments/availability/",
        "/api/v1/appointments/{id}/reschedule/",
        "/api/v1/appointments/{id}/cancel/",
        "/api/v1/appointments/{id}/calendar.ics",
        "/api/v1/appointments/{id}/check-in/",
        "/api/v1/appointments/{id}/complete/",
        "/api/v1/appointments/{id}/no-show/",
        "/api/v1/appointments/{id}/missed/",
        "/api/v1/appointments/waitlist/",
        "/api/v1/appointments/waitlist/{id}/",
        "/api/v1/appointments/waitlist/{id}/accept/",
        "/api/v1/appointments/waitlist/{id}/cancel/",
    ):
        assert path in paths, path
    book_op = schema["paths"]["/api/v1/appointments/"]["post"]
    assert "examples" in str(book_op)
