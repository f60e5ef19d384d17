"""Batch tasks: SMS and emails on their own queues, SMS first; no task piles up per event."""

import base64
import json

import pytest
import redis
from django.conf import settings as django_settings

from notifications import conf
from notifications.models import Delivery
from notifications.services import batch_started, deliveries_enqueue, deliveries_send_batch
from tests.factories import CompanyFactory
from tests.notifications.conftest import make_consignment
from tests.notifications.helpers import record
from tests.notifications.test_batch import members

pytestmark = pytest.mark.django_db

SMS_KEY = conf.SMS_QUEUE
EMAIL_KEY = f"{conf.EMAIL_QUEUE}\x06\x16{conf.PRIORITIES['email']}"  # kombu's priority list


@pytest.fixture
def broker():
    """The broker's Redis; the tasks a test adds are taken off again afterwards."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    before = {key: client.llen(key) for key in (SMS_KEY, EMAIL_KEY)}
    for channel in conf.QUEUES:
        batch_started(channel=channel)
    yield client
    for key, length in before.items():
        while client.llen(key) > length:
            client.lpop(key)


def _task(client, key):
    message = json.loads(client.lindex(key, 0))
    return message, json.loads(base64.b64decode(message["body"]))[0]


def test_a_batch_goes_to_its_channel_queue_sms_before_emails(broker):
    before = {key: broker.llen(key) for key in (SMS_KEY, EMAIL_KEY)}
    assert deliveries_enqueue(delivery_ids=[(910_001, "sms"), (910_002, "email")]) == 2
    assert broker.llen(SMS_KEY) == before[SMS_KEY] + 1
    assert broker.llen(EMAIL_KEY) == before[EMAIL_KEY] + 1
    sms_task, sms_args = _task(broker, SMS_KEY)
    email_task, email_args = _task(broker, EMAIL_KEY)
    assert sms_task["headers"]["task"] == email_task["headers"]["task"] == "notifications.deliver"
    assert (sms_args, email_args) == ([[910_001], "sms"], [[910_002], "email"])
    assert sms_task["properties"]["delivery_info"]["routing_key"] == conf.SMS_QUEUE
    # kombu's Redis transport serves priority 0 lists before the others, whatever the queue
    assert sms_task["properties"]["priority"] == 0 < email_task["properties"]["priority"]


def test_new_rows_add_no_task_while_one_of_their_channel_waits(broker):
    first = deliveries_enqueue(delivery_ids=[(920_001, "email")], coalesce=True)
    second = deliveries_enqueue(delivery_ids=[(920_002, "email"), (920_003, "sms")], coalesce=True)
    assert (first, second) == (1, 1)  # the SMS had no waiting task yet
    batch_started(channel="email")  # a worker took the waiting email task
    assert deliveries_enqueue(delivery_ids=[(920_004, "email")], coalesce=True) == 1
    assert _task(broker, EMAIL_KEY)[1] == [[920_004], "email"]
    assert deliveries_enqueue(delivery_ids=[(920_005, "email")]) == 1  # retries always go


def test_a_full_claim_asks_for_the_next_batch_before_sending(smtp):
    company = CompanyFactory()
    members(company, 4, role="admin", phone=False)
    event = record(make_consignment(company))
    ids = list(Delivery.objects.filter(event=event, channel="email").values_list("pk", flat=True))
    calls = []
    batch = deliveries_send_batch(
        delivery_ids=ids[:1], channel="email", fill=2, when_full=lambda: calls.append(len(smtp.raw))
    )
    assert (batch.claimed, calls) == (3, [0])  # asked before any email left
    batch = deliveries_send_batch(
        delivery_ids=[], channel="email", fill=5, when_full=lambda: calls.append("again")
    )
    assert (batch.claimed, calls) == (1, [0])  # the last row: not a full batch
