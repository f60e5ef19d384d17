"""A batch of deliveries: one claim, concurrent SMS, bulk writes, per-row outcomes (in-process)."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications import conf
from notifications.models import Delivery, Profile
from notifications.services import deliveries_send
from tests.factories import CompanyFactory, MembershipFactory
from tests.notifications.conftest import make_consignment, new_phone
from tests.notifications.helpers import record

pytestmark = pytest.mark.django_db


def members(company, count, *, role="operator", phone=True):
    """`count` members (no password: hashing one costs more than the whole batch)."""
    users = [
        MembershipFactory(company=company, role=role, user__password=None).user
        for _ in range(count)
    ]
    if phone:
        Profile.objects.bulk_create(
            Profile(user=user, phone=new_phone(), phone_verified_at=timezone.now())
            for user in users
        )
    return users


def sms_rows(count):
    """`count` SMS rows of one event, one per member with a verified phone."""
    company = CompanyFactory()
    members(company, count)
    event = record(make_consignment(company))
    return list(Delivery.objects.filter(event=event, channel="sms").order_by("pk"))


@pytest.mark.parametrize("count", [2, 30])
def test_a_batch_of_sms_costs_the_same_few_queries_whatever_its_size(
    fake_twilio, django_assert_max_num_queries, count
):
    rows = sms_rows(count)
    with django_assert_max_num_queries(8):
        retries = deliveries_send(delivery_ids=[row.pk for row in rows], channel="sms")
    assert retries == []
    assert len(fake_twilio.messages) == count
    sids = {message["to"]: message["sid"] for message in fake_twilio.messages}
    for row in rows:
        row.refresh_from_db()
        assert (row.status, row.provider_id, row.attempts) == ("queued", sids[row.address], 1)
        [attempt] = row.attempt_set.all()
        assert (attempt.outcome, attempt.provider_id) == ("ok", row.provider_id)
        assert attempt.finished_at is not None


def test_a_batch_of_emails_costs_the_same_few_queries_whatever_its_size(
    smtp, django_assert_max_num_queries
):
    company = CompanyFactory()
    users = members(company, 12, role="admin", phone=False)
    event = record(make_consignment(company))
    rows = Delivery.objects.filter(event=event, channel="email")
    with django_assert_max_num_queries(8):
        deliveries_send(delivery_ids=list(rows.values_list("pk", flat=True)), channel="email")
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    for user in users:
        assert len(smtp.to(user.email)) == 1


def test_each_row_of_a_batch_keeps_its_own_outcome(fake_twilio):
    ok, flaky, invalid = sms_rows(3)
    fake_twilio.program(flaky.address, "500")
    fake_twilio.program(invalid.address, "21211")
    retries = deliveries_send(delivery_ids=[ok.pk, flaky.pk, invalid.pk], channel="sms")
    assert [(retry.delivery_id, retry.channel) for retry in retries] == [(flaky.pk, "sms")]
    for row in (ok, flaky, invalid):
        row.refresh_from_db()
    assert ok.status == "queued" and ok.provider_id
    assert (flaky.status, flaky.provider_id) == ("pending", "")
    assert "HTTP 500" in flaky.last_error and flaky.not_before is not None
    assert (invalid.status, invalid.provider_id) == ("failed", "")
    assert "21211" in invalid.last_error
    assert list(flaky.attempt_set.values_list("outcome", flat=True)) == ["transient"]
    assert list(invalid.attempt_set.values_list("outcome", flat=True)) == ["permanent"]
    deliveries_send(delivery_ids=[ok.pk, flaky.pk, invalid.pk], channel="sms")
    flaky.refresh_from_db()
    assert flaky.status == "queued"
    assert len(fake_twilio.received(ok.address)) == 1  # never twice
    assert len(fake_twilio.received(flaky.address)) == 1
    assert fake_twilio.received(invalid.address) == []


def test_a_batch_fills_up_with_other_due_rows_of_its_channel_only(fake_twilio):
    given, due, held, leased = sms_rows(4)
    Delivery.objects.filter(pk=held.pk).update(not_before=timezone.now() + dt.timedelta(hours=1))
    Delivery.objects.filter(pk=leased.pk).update(
        status="sending", lease_until=timezone.now() + dt.timedelta(minutes=5)
    )
    deliveries_send(delivery_ids=[given.pk], channel="sms", fill=10)
    statuses = dict(
        Delivery.objects.filter(event=given.event, channel__in=["sms", "email"]).values_list(
            "pk", "status"
        )
    )
    assert (statuses[given.pk], statuses[due.pk]) == ("queued", "queued")
    assert (statuses[held.pk], statuses[leased.pk]) == ("pending", "sending")
    emails = Delivery.objects.filter(event=given.event, channel="email")
    assert set(emails.values_list("status", flat=True)) == {"pending"}
    assert {m["to"] for m in fake_twilio.messages} == {given.address, due.address}


def test_no_sms_is_started_that_could_outlive_the_claim_lease(fake_twilio, settings, monkeypatch):
    rows = sms_rows(3)
    settings.NOTIFY_LEASE_SECONDS = 1.0
    monkeypatch.setattr(conf, "TWILIO_TIMEOUT", 1.0)  # a call could end after the lease
    retries = deliveries_send(delivery_ids=[row.pk for row in rows], channel="sms")
    assert sorted(retry.delivery_id for retry in retries) == [row.pk for row in rows]
    assert fake_twilio.requests == []
    for row in rows:  # nothing was tried: due again, the attempt taken back
        row.refresh_from_db()
        assert (row.status, row.lease_until, row.attempts) == ("pending", None, 0)
        assert row.not_before <= timezone.now()
        assert not row.attempt_set.exists()
    settings.NOTIFY_LEASE_SECONDS = 120.0
    assert deliveries_send(delivery_ids=[row.pk for row in rows], channel="sms") == []
    assert len(fake_twilio.messages) == 3
    assert {row.attempt_set.get().number for row in rows} == {1}


def test_an_interrupted_batch_is_looked_up_at_twilio_and_never_sent_twice(fake_twilio):
    rows = sms_rows(4)
    from notifications.models import Attempt
    from notifications.rendering import message_texts
    from notifications.sms import send

    reached = rows[:2]  # these calls reached Twilio before the worker died
    for row in reached:
        _, body = message_texts(kind_code=row.kind, event=row.event, language=row.language)
        send(to=row.address, body=body)
    past = timezone.now() - dt.timedelta(minutes=5)
    for row in rows:
        Delivery.objects.filter(pk=row.pk).update(status="sending", attempts=1, lease_until=past)
        Attempt.objects.create(delivery=row, number=1, started_at=past)  # never finished
    deliveries_send(delivery_ids=[row.pk for row in rows], channel="sms")
    assert len(fake_twilio.messages) == 4
    outcomes = {}
    for row in rows:
        row.refresh_from_db()
        assert row.status == "queued"
        assert [m["sid"] for m in fake_twilio.received(row.address)] == [row.provider_id]
        outcomes[row.pk] = row.attempt_set.get(number=2).outcome
    assert [outcomes[row.pk] for row in rows] == ["adopted", "adopted", "ok", "ok"]
