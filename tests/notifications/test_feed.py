"""The change feed: everything a company may see, in commit order, resumable after any id."""

import threading
from types import SimpleNamespace

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from gun.signals import ACTIONS, declaration_changed
from notifications.feed import services as feed
from notifications.feed.models import CompanyEvent
from notifications.feed.types import EVENT_TYPES
from notifications.receivers import feed_on_declaration_changed
from notifications.webhooks.models import WebhookDelivery
from notifications.webhooks.services import webhook_endpoint_create
from tests.gun.factories import di_doc, item, payload, publish_di
from tests.notifications.conftest import make_consignment
from tests.notifications.helpers import record

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events/"
APPOINTMENT_ACTIONS = (
    "booked",
    "rescheduled",
    "cancelled",
    "checked_in",
    "completed",
    "no_show",
    "missed",
    "rebooked",
    "waitlist_offered",
    "reminder",
)


def lodge_and_validate(client, company) -> dict:
    document = publish_di(holder=company.eori)
    body = payload(company.eori, item(1, di_doc(document.reference, "10"), net_mass="10"))
    declaration = client.post("/api/v1/declarations/", body, format="json").json()
    response = client.post(f"/api/v1/declarations/{declaration['id']}/validate/", {})
    assert response.status_code == 200, response.json()
    return declaration


def test_a_declaration_outcomes_reach_the_feed_of_its_company_only(
    api, company, company_key, other_company_key
):
    declaration = lodge_and_validate(api(company_key), company)
    body = api(company_key).get(FEED).json()
    types = [event["type"] for event in body["results"]]
    assert types == ["declaration.anticipated", "declaration.validated"]
    validated = body["results"][1]
    assert validated["subject"] == {"type": "declaration", "id": declaration["id"]}
    assert validated["data"]["declaration"]["status"] == "validated"
    assert validated["data"]["declaration"]["mrn"]
    assert validated["data"]["gun"] == {"stage": "validation", "outcome": "accepted"}
    assert validated["id"].startswith("evt_")
    assert api(other_company_key).get(FEED).json()["results"] == []


def test_tracking_events_reach_the_feed(api, company, company_key):
    consignment = make_consignment(company)
    event = record(consignment, kind="arrival", payload={})
    results = api(company_key).get(FEED).json()["results"]
    assert [r["type"] for r in results] == ["consignment.event_recorded"]
    assert results[0]["subject"] == {"type": "consignment", "id": str(consignment.pk)}
    assert results[0]["data"]["event"]["id"] == event.pk
    assert results[0]["data"]["event"]["kind"] == "arrival"


def test_reading_after_an_id_gives_what_follows_page_by_page(api, company, company_key):
    consignment = make_consignment(company)
    for _ in range(5):
        record(consignment, kind="arrival")
    client = api(company_key)
    first = client.get(FEED, {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["has_more"] is True
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert third["has_more"] is False and len(third["results"]) == 1
    ids = [e["id"] for page in (first, second, third) for e in page["results"]]
    assert len(set(ids)) == 5
    assert ids == sorted(ids, key=lambda public: int(public[4:]))
    # Nothing new: next stays where it was, so a poller follows it.
    fourth = client.get(third["next"]).json()
    assert fourth["results"] == [] and fourth["next"] == third["next"]


def test_the_feed_filters_by_type(api, company, company_key):
    lodge_and_validate(api(company_key), company)
    record(make_consignment(company), kind="arrival")
    body = api(company_key).get(FEED, {"type": "declaration.validated"}).json()
    assert [e["type"] for e in body["results"]] == ["declaration.validated"]
    assert "type=declaration.validated" in body["next"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": "123"}, "after"),
        ({"after": "evt_"}, "after"),
        ({"after": "evt_١٢"}, "after"),
        ({"after": "evt_99999999999999999999999"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"type": "declaration.exploded"}, "type"),
    ],
)
def test_bad_positions_and_limits_are_400(api, company_key, query, field):
    response = api(company_key).get(FEED, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_partner_keys_have_no_feed(api, partner_key):
    response = api(partner_key("SEMAE")).get(FEED)
    assert response.status_code == 403


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(company, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhook_endpoint_create(
        company=company, url="http://127.0.0.1:9/hook", event_types=["consignment.event_recorded"]
    )
    consignment = make_consignment(company)
    with pytest.raises(RuntimeError), transaction.atomic():
        record(consignment, kind="arrival")
        assert CompanyEvent.objects.filter(company=company).count() == 1
        raise RuntimeError("the change fails after its event was written")
    assert not CompanyEvent.objects.filter(company=company).exists()
    assert not WebhookDelivery.objects.exists()


def test_the_validation_pays_one_statement_for_the_feed_and_the_outbox(
    api, company, company_key, settings
):
    """The receiver on the GUN's hot path: one statement, with or without subscriptions."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    client = api(company_key)

    def statements() -> int:
        document = publish_di(holder=company.eori)
        body = payload(company.eori, item(1, di_doc(document.reference, "1"), net_mass="1"))
        declaration = client.post("/api/v1/declarations/", body, format="json").json()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(f"/api/v1/declarations/{declaration['id']}/validate/", {})
        assert response.status_code == 200
        return len(queries)

    with_feed = statements()
    declaration_changed.disconnect(
        dispatch_uid="notifications.feed.gun.signals.declaration_changed"
    )
    try:
        without = statements()
    finally:
        declaration_changed.connect(
            feed_on_declaration_changed,
            dispatch_uid="notifications.feed.gun.signals.declaration_changed",
        )
    assert with_feed == without + 1
    webhook_endpoint_create(
        company=company, url="http://127.0.0.1:9/hook", event_types=["declaration.validated"]
    )
    assert statements() == without + 1
    assert WebhookDelivery.objects.filter(event__type="declaration.validated").count() == 1


def test_every_source_action_has_an_event_type():
    for action in ACTIONS:
        assert f"declaration.{action}" in EVENT_TYPES
    for action in APPOINTMENT_ACTIONS:
        assert f"appointment.{action}" in EVENT_TYPES


def test_appointment_and_dossier_receivers_record_for_the_consignment_company(company):
    """The apps that send these are being written; their objects carry these fields."""
    consignment = make_consignment(company)
    appointment = SimpleNamespace(
        pk=7,
        consignment=consignment,
        service="SIVEP",
        start="2026-12-03T08:00:00+01:00",
        end="2026-12-03T08:30:00+01:00",
        status="booked",
    )
    document = SimpleNamespace(
        pk=41, consignment=consignment, type="commercial_invoice", reference="INV-1", version=1
    )
    with transaction.atomic():
        feed.appointment_changed(appointment=appointment, action="booked")
        feed.document_added(document=document)
        feed.dossier_completed(consignment=consignment)
    events = list(CompanyEvent.objects.filter(company=company).order_by("id"))
    assert [e.type for e in events] == [
        "appointment.booked",
        "dossier.document_added",
        "dossier.completed",
    ]
    assert events[0].subject == "appointment:7"
    assert events[1].subject == events[2].subject == f"dossier:{consignment.pk}"


def test_an_unknown_type_is_refused(company):
    with pytest.raises(ValueError), transaction.atomic():
        feed.company_event_record(
            company_id=company.pk,
            event_type="declaration.exploded",
            subject_type="declaration",
            subject_id="x",
            data={},
        )


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_is_never_skipped(api, company, company_key):
    """Two transactions of one company: the second waits for the first to commit, so a
    reader that saw the second's id has seen the first's."""
    consignment = make_consignment(company)
    client = api(company_key)
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                record(consignment, kind="arrival", source_event_id="first")
                holding.set()
                release.wait(30)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            record(consignment, kind="arrival", source_event_id="second")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(30)
    two = threading.Thread(target=second)
    two.start()
    wait_for_advisory_lock_waiter()
    assert client.get(FEED).json()["results"] == []  # neither is committed
    release.set()
    one.join(30)
    two.join(30)
    assert not errors
    results = client.get(FEED).json()["results"]
    from tracking.models import Event

    order = [Event.objects.get(pk=r["data"]["event"]["id"]).source_event_id for r in results]
    assert order == ["first", "second"]  # feed ids in commit order


def wait_for_advisory_lock_waiter(timeout: float = 30.0) -> None:
    """Until a session of this database waits on an advisory lock (no fixed sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("no session waits on the company's lock")


@pytest.mark.django_db(transaction=True)
def test_without_the_lock_a_reader_would_skip_an_event_committed_late(company):
    """Why the lock: ids drawn without it can commit out of order, and a reader resuming after
    the higher id never sees the lower one (shown with plain inserts, not the service)."""
    from django.db import connections as conns
    from django.utils import timezone

    table = CompanyEvent._meta.db_table
    insert = (
        f"INSERT INTO {table} (company_id, type, subject_type, subject_id, data, created_at) "
        "VALUES (%s, 'consignment.event_recorded', 'consignment', '1', '{}', %s) RETURNING id"
    )
    late = conns.create_connection("default")
    try:
        late.set_autocommit(False)
        with late.cursor() as cursor:
            cursor.execute(insert, [company.pk, timezone.now()])
            late_id = cursor.fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(insert, [company.pk, timezone.now()])
            early_id = cursor.fetchone()[0]
        seen = [e.pk for e in CompanyEvent.objects.filter(company=company, id__gt=0)]
        assert seen == [early_id] and late_id < early_id
        late.commit()
        resumed = [e.pk for e in CompanyEvent.objects.filter(company=company, id__gt=early_id)]
        assert late_id not in resumed  # skipped for good
    finally:
        late.close()
