"""Webhook delivery in the test process: signed bodies, outcomes, back-off, dead letters and
replays, order per subject, one endpoint never holding another up (with real workers and
processes killed: test_webhooks_worker)."""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from notifications.feed.models import CompanyEvent
from notifications.feed.selectors import event_body
from notifications.webhooks import conf, signing
from notifications.webhooks.models import WebhookAttempt, WebhookDelivery
from notifications.webhooks.services import (
    endpoint_deliver,
    retry_delay,
    webhook_dead_replay_all,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_secret_rotate,
)
from tests.notifications.conftest import make_consignment
from tests.notifications.helpers import record
from tests.notifications.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

TRACKING = ["consignment.event_recorded"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _local_hooks(settings, monkeypatch) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    monkeypatch.setattr(conf, "TIMEOUT", 2.0)
    monkeypatch.setattr(conf, "RETRY_SCHEDULE", [0.0, 0.0])


def subscribe(company, url, types=TRACKING):
    return webhook_endpoint_create(company=company, url=url, event_types=types)


def test_a_delivery_is_the_feed_document_signed_as_standard_webhooks_say(company, receiver):
    endpoint, secret = subscribe(company, receiver.url)
    event = record(make_consignment(company), kind="arrival")
    run = endpoint_deliver(endpoint_id=endpoint.pk)
    assert run.delivered == 1
    [request] = receiver.received()
    logged = CompanyEvent.objects.get(company=company)
    assert json.loads(request["body"]) == json.loads(event_body(logged))  # the feed's document
    assert json.loads(request["body"])["data"]["event"]["id"] == event.pk
    headers = request["headers"]
    assert headers["webhook-id"] == logged.public_id
    assert headers["content-type"] == "application/json"
    Webhook(secret).verify(request["body"], headers)  # the reference implementation
    # The same signature computed by hand from the specification.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{request['body']}"
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest())
    assert headers["webhook-signature"] == "v1," + expected.decode()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200 and attempt.number == 1


def test_a_failure_waits_its_back_off_then_the_delivery_is_dead(company, receiver, monkeypatch):
    monkeypatch.setattr(conf, "RETRY_SCHEDULE", [600.0])
    endpoint, _ = subscribe(company, receiver.url)
    record(make_consignment(company), kind="arrival")
    receiver.answers = [503, 500]
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.retries == 1
    wait = (delivery.not_before - timezone.now()).total_seconds()
    assert 600 * (1 - conf.JITTER) - 5 <= wait <= 600 * (1 + conf.JITTER)
    assert endpoint_deliver(endpoint_id=endpoint.pk).delivered == 0  # not due yet
    assert len(receiver.received()) == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=timezone.now())
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == "dead" and delivery.last_status_code == 500
    assert [a.status_code for a in delivery.attempt_set.order_by("number")] == [503, 500]


def test_the_retry_schedule_spans_three_days_with_jitter(monkeypatch):
    monkeypatch.undo()  # the configured schedule, not this module's short one
    total = sum(conf.RETRY_SCHEDULE)
    assert 2.9 * 86400 <= total <= 3.2 * 86400
    delays = [retry_delay(1) for _ in range(200)]
    base = conf.RETRY_SCHEDULE[0]
    assert all(base * (1 - conf.JITTER) <= d <= base * (1 + conf.JITTER) for d in delays)
    assert len({round(d, 6) for d in delays}) > 1  # jittered
    assert retry_delay(len(conf.RETRY_SCHEDULE) + 1) is None


def test_a_dead_delivery_is_replayed_with_the_same_webhook_id(company, receiver, api):
    endpoint, secret = subscribe(company, receiver.url)
    record(make_consignment(company), kind="arrival")
    receiver.answers = [500, 500, 500]
    for _ in range(3):
        endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "dead"
    assert webhook_delivery_replay(delivery=delivery) is True
    assert webhook_delivery_replay(delivery=delivery) is False  # pending now: not dead
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.replays == 1 and delivery.attempts == 4
    ids = {r["headers"]["webhook-id"] for r in receiver.received()}
    assert len(receiver.received()) == 4 and len(ids) == 1
    Webhook(secret).verify(receiver.received()[-1]["body"], receiver.received()[-1]["headers"])


def test_replaying_every_dead_delivery_of_an_endpoint(company, receiver):
    endpoint, _ = subscribe(company, receiver.url)
    consignments = [make_consignment(company) for _ in range(3)]
    for consignment in consignments:
        record(consignment, kind="arrival")
    receiver.answers = [500] * 9
    for _ in range(3):
        endpoint_deliver(endpoint_id=endpoint.pk)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"dead"}
    assert webhook_dead_replay_all(endpoint=endpoint) == 3
    endpoint_deliver(endpoint_id=endpoint.pk)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_events_of_one_subject_go_in_order_and_wait_for_the_earlier(company, receiver, monkeypatch):
    monkeypatch.setattr(conf, "RETRY_SCHEDULE", [600.0])
    endpoint, _ = subscribe(company, receiver.url)
    first, second = make_consignment(company), make_consignment(company)
    a1 = record(first, kind="arrival")
    a2 = record(first, kind="documentary_check", payload={"result": "compliant"})
    b1 = record(second, kind="arrival")
    receiver.answers = [503, 503]  # the two subjects' first events fail
    endpoint_deliver(endpoint_id=endpoint.pk)
    got = [json.loads(r["body"])["data"]["event"]["id"] for r in receiver.received()]
    assert sorted(got) == sorted([a1.pk, b1.pk])  # a2 waits for a1
    WebhookDelivery.objects.filter(status="pending").update(not_before=timezone.now())
    endpoint_deliver(endpoint_id=endpoint.pk)
    got = [json.loads(r["body"])["data"]["event"]["id"] for r in receiver.received()]
    assert len(got) == 5 and set(got[2:]) == {a1.pk, a2.pk, b1.pk}
    assert got.index(a2.pk) > max(i for i, event in enumerate(got) if event == a1.pk)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db(transaction=True)
def test_a_hanging_endpoint_does_not_hold_up_another(company, monkeypatch):
    """One endpoint's calls hang; another endpoint's run completes meanwhile."""
    from django.db import connections

    def serve(endpoint_id: int) -> None:
        try:
            endpoint_deliver(endpoint_id=endpoint_id)
        finally:
            connections.close_all()

    monkeypatch.setattr(conf, "TIMEOUT", 30.0)
    stuck, fast = Receiver(), Receiver()
    stuck.hold = threading.Event()
    try:
        slow_endpoint, _ = subscribe(company, stuck.url)
        fast_endpoint, _ = subscribe(company, fast.url)
        for _ in range(3):
            record(make_consignment(company), kind="arrival")
        worker = threading.Thread(target=serve, args=(slow_endpoint.pk,))
        worker.start()
        while len(stuck.received()) < 3:  # every call of the slow endpoint is in flight
            threading.Event().wait(0.05)
        run = endpoint_deliver(endpoint_id=fast_endpoint.pk)
        assert run.delivered == 3 and len(fast.received()) == 3
        assert worker.is_alive()  # still waiting on its endpoint
        assert WebhookDelivery.objects.filter(endpoint=slow_endpoint, status="sending").count() == 3
        stuck.hold.set()
        worker.join(30)
        assert (
            WebhookDelivery.objects.filter(endpoint=slow_endpoint, status="delivered").count() == 3
        )
    finally:
        stuck.close()
        fast.close()


def test_a_call_that_times_out_is_a_failed_attempt(company, receiver, monkeypatch):
    monkeypatch.setattr(conf, "TIMEOUT", 0.5)
    receiver.hold = threading.Event()
    endpoint, _ = subscribe(company, receiver.url)
    record(make_consignment(company), kind="arrival")
    endpoint_deliver(endpoint_id=endpoint.pk)
    receiver.hold.set()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.retries == 1
    attempt = delivery.attempt_set.get()
    assert attempt.status_code is None and "Timeout" in attempt.error


def test_a_redirect_is_not_followed(company, receiver):
    elsewhere = Receiver()
    try:
        receiver.answers = [302]
        receiver.redirect_to = elsewhere.url
        endpoint, _ = subscribe(company, receiver.url)
        record(make_consignment(company), kind="arrival")
        endpoint_deliver(endpoint_id=endpoint.pk)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == "pending" and delivery.last_status_code == 302
        assert elsewhere.received() == []
    finally:
        elsewhere.close()


def test_a_disabled_endpoint_gets_nothing_until_enabled(company, receiver):
    from notifications.webhooks.services import webhook_endpoint_update

    endpoint, _ = subscribe(company, receiver.url)
    webhook_endpoint_update(endpoint=endpoint, enabled=False)
    record(make_consignment(company), kind="arrival")
    assert not WebhookDelivery.objects.exists()  # a paused endpoint collects nothing
    webhook_endpoint_update(endpoint=endpoint, enabled=True)
    record(make_consignment(company), kind="arrival")
    endpoint_deliver(endpoint_id=endpoint.pk)
    assert len(receiver.received()) == 1


def test_only_subscribed_types_of_the_company_are_delivered(company, other_company, receiver):
    endpoint, _ = subscribe(company, receiver.url, types=["declaration.released"])
    record(make_consignment(company), kind="arrival")
    record(make_consignment(other_company), kind="arrival")
    assert not WebhookDelivery.objects.exists()
    endpoint_deliver(endpoint_id=endpoint.pk)
    assert receiver.received() == []


def test_a_rotated_secret_signs_beside_the_new_one_during_the_overlap(company, receiver):
    endpoint, old = subscribe(company, receiver.url)
    new = webhook_secret_rotate(endpoint=endpoint, overlap_seconds=3600)
    assert new != old and new.startswith("whsec_")
    record(make_consignment(company), kind="arrival")
    endpoint_deliver(endpoint_id=endpoint.pk)
    request = receiver.received()[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request["body"], request["headers"])
    Webhook(new).verify(request["body"], request["headers"])
    newest = webhook_secret_rotate(endpoint=endpoint, overlap_seconds=0)  # ends the others now
    record(make_consignment(company), kind="arrival")
    endpoint_deliver(endpoint_id=endpoint.pk)
    request = receiver.received()[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 1
    Webhook(newest).verify(request["body"], request["headers"])
    with pytest.raises(Exception, match="signature"):
        Webhook(new).verify(request["body"], request["headers"])


def test_secrets_are_stored_encrypted_and_kept_out_of_the_audit_trail(company, receiver):
    endpoint, secret = subscribe(company, receiver.url)
    stored = endpoint.secrets.get()
    assert secret not in stored.ciphertext and secret[6:] not in stored.ciphertext
    assert signing.decrypt(stored.ciphertext) == secret
    audit = type(endpoint).pgh_event_model.objects.filter(pgh_obj_id=endpoint.pk)
    assert audit.count() == 1
    assert secret not in json.dumps(list(audit.values()), default=str)


def test_a_secret_no_key_decrypts_fails_the_attempt_with_a_reason(company, receiver, settings):
    endpoint, _ = subscribe(company, receiver.url)
    record(make_consignment(company), kind="arrival")
    settings.WEBHOOK_SECRET_KEYS = [base64.urlsafe_b64encode(b"k" * 32).decode()]
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and "rotate" in delivery.last_error
    assert receiver.received() == []


def test_the_sweep_hands_back_due_rows_and_rows_whose_lease_ran_out(company, receiver):
    import datetime as dt

    from notifications.webhooks.services import deliveries_recover, webhook_endpoint_update

    due, _ = subscribe(company, receiver.url)
    stuck, _ = subscribe(company, receiver.url + "/stuck")
    later, _ = subscribe(company, receiver.url + "/later")
    paused, _ = subscribe(company, receiver.url + "/paused")
    record(make_consignment(company), kind="arrival")
    now = timezone.now()
    WebhookDelivery.objects.filter(endpoint=stuck).update(
        status="sending", lease_until=now - dt.timedelta(seconds=1)
    )
    WebhookDelivery.objects.filter(endpoint=later).update(not_before=now + dt.timedelta(hours=1))
    webhook_endpoint_update(endpoint=paused, enabled=False)
    assert deliveries_recover(now=now) == sorted([due.pk, stuck.pk])
    endpoint_deliver(endpoint_id=stuck.pk)  # another worker takes the abandoned row
    delivery = WebhookDelivery.objects.get(endpoint=stuck)
    assert delivery.status == "delivered" and delivery.attempts == 1
