"""Real worker processes: delivery after commit, retries, and exactly once across a SIGKILL."""

import time
import uuid

import pytest

from notifications.models import Delivery, Preference
from notifications.services import deliveries_recover
from tests.factories import CompanyFactory
from tests.notifications.conftest import make_consignment, make_member, new_phone
from tests.notifications.helpers import record

pytestmark = pytest.mark.worker


def worker_env(fake_twilio, smtp):
    return {
        "TWILIO_BASE_URL": fake_twilio.url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "NOTIFY_LEASE_SECONDS": "3",
        "TWILIO_TIMEOUT": "2",
        "NOTIFY_BACKOFF_SECONDS": "0.2",
    }


def wait_until(condition, timeout=60.0, every=0.2, between=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if between:
            between()
        time.sleep(every)
    raise AssertionError("condition not reached")


def test_events_are_delivered_after_commit_by_a_worker_with_retries(
    start_worker, fake_twilio, smtp
):
    start_worker(concurrency=2, extra_env=worker_env(fake_twilio, smtp))
    company, other = CompanyFactory(), CompanyFactory()
    flaky, steady = new_phone(), new_phone()
    alice = make_member(company, phone=flaky)
    bob = make_member(company, phone=steady, language="en")
    stranger = make_member(other, phone=new_phone())
    fake_twilio.program(flaky, "500", "429")
    consignment = make_consignment(company)
    source_event_id = uuid.uuid4().hex
    event = record(consignment, source_event_id=source_event_id)
    record(consignment, source_event_id=source_event_id)  # the same event twice
    providers = Delivery.objects.filter(event=event, channel__in=["sms", "email"])
    wait_until(lambda: set(providers.values_list("status", flat=True)) <= {"queued", "sent"})
    assert len(fake_twilio.received(flaky)) == 1
    assert len(fake_twilio.received(steady)) == 1
    assert len(smtp.to(alice.email)) == 1 and len(smtp.to(bob.email)) == 1
    assert smtp.to(bob.email)[0]["Subject"].strip().startswith("[Sesame] Declaration rejected")
    assert Delivery.objects.get(event=event, user=alice, channel="sms").attempts == 3
    assert not Delivery.objects.filter(user=stranger).exists()
    assert fake_twilio.received(stranger.notification_profile.phone) == []


def test_a_worker_killed_mid_batch_leaves_every_sms_sent_exactly_once(
    start_worker, fake_twilio, smtp
):
    # Exactly once holds while Twilio creates a message within the client's timeout (Twilio
    # has no idempotency key: a request still unread at Twilio when the lookup runs is sent
    # again). The fake runs in this process and, on a loaded machine, may read a request
    # seconds late: a timeout well above that, the lease above the timeout.
    env = {**worker_env(fake_twilio, smtp), "NOTIFY_LEASE_SECONDS": "9", "TWILIO_TIMEOUT": "6"}
    company = CompanyFactory()
    users = [make_member(company, phone=new_phone()) for _ in range(4)]
    for user in users:  # SMS and inbox only: the count at the fake is the whole story
        Preference.objects.create(user=user, kind="gun_rejection", channel="email", enabled=False)
    fake_twilio.delay = 0.3  # slow Twilio: the kill lands mid-call
    worker = start_worker(concurrency=2, extra_env=env)
    events = [record(make_consignment(company)) for _ in range(10)]
    sms = Delivery.objects.filter(event__in=events, channel="sms")
    assert sms.count() == 40
    wait_until(lambda: len(fake_twilio.messages) >= 8, every=0.05)
    worker.kill()
    assert sms.exclude(status="queued").exists()  # the batch really was cut short
    start_worker(concurrency=2, extra_env=env)
    wait_until(
        lambda: not sms.exclude(status="queued").exists(),
        every=1.0,
        between=lambda: deliveries_recover(pending_grace_seconds=0),
    )
    received = {}
    for message in fake_twilio.messages:
        received.setdefault(message["sid"], message)
    assert len(fake_twilio.messages) == 40
    by_sid = {d.provider_id: d for d in sms}
    assert set(by_sid) == set(received)
    for sid, delivery in by_sid.items():
        assert received[sid]["to"] == delivery.address
    per_phone = {u.notification_profile.phone: 0 for u in users}
    for message in fake_twilio.messages:
        per_phone[message["to"]] += 1
    assert set(per_phone.values()) == {10}
