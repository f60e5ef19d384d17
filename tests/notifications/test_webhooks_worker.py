"""Webhooks with real worker processes and a receiver that dies: each event at least once, in
order per subject, validly signed; a worker killed mid-round; a hanging receiver never holds
up another endpoint."""

import json
import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from notifications.webhooks.models import WebhookAttempt, WebhookDelivery
from notifications.webhooks.services import deliveries_recover, webhook_endpoint_create
from tests.conftest import ROOT
from tests.notifications.conftest import make_consignment
from tests.notifications.fakes import free_port
from tests.notifications.helpers import record
from tests.notifications.test_worker import wait_until
from tests.notifications.webhook_receiver import Receiver, read_log
from tests.tracking.conftest import wait_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TYPES = ["consignment.event_recorded"]


def worker_env(**extra: str) -> dict[str, str]:
    return {
        "WEBHOOK_ALLOW_PRIVATE_URLS": "1",
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.3,0.5,0.5,1,1,1,1,1,1,1,1,1,1,1,1",
        "WEBHOOK_TIMEOUT": "3",
        "WEBHOOK_CONNECT_TIMEOUT": "1",
        **extra,
    }


class ReceiverProcess:
    """The receiver as a process of its own, SIGKILLed and restarted on the same port."""

    def __init__(self, port: int, log: Path, delay: float) -> None:
        self.port, self.log, self.delay = port, log, delay
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "ReceiverProcess":
        output = self.log.with_suffix(".out").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.notifications.webhook_receiver",
                str(self.port),
                str(self.log),
                str(self.delay),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port, self.process, self.log.with_suffix(".out"))
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def subject_orders(entries: list[dict]) -> dict[int, list[int]]:
    """Per consignment, the tracking event ids in the order the receiver got them."""
    orders: dict[int, list[int]] = defaultdict(list)
    for entry in entries:
        data = json.loads(entry["body"])["data"]
        orders[data["consignment"]["id"]].append(data["event"]["id"])
    return orders


def test_a_receiver_killed_mid_delivery_gets_every_event_in_order_validly_signed(
    start_worker, company, settings, tmp_path
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    port = free_port()
    log = tmp_path / "received.jsonl"
    receiver = ReceiverProcess(port, log, delay=0.3).start()
    try:
        endpoint, secret = webhook_endpoint_create(
            company=company, url=f"http://127.0.0.1:{port}/hooks", event_types=TYPES
        )
        start_worker(concurrency=2, extra_env=worker_env())
        consignments = [make_consignment(company) for _ in range(3)]
        events = [record(consignments[n % 3], kind="arrival") for n in range(24)]
        wait_until(lambda: len(read_log(log)) >= 6, every=0.05)
        receiver.kill()  # while answering: what it logged was never acknowledged
        failed = WebhookAttempt.objects.filter(delivery__endpoint=endpoint, status_code=None)
        wait_until(failed.exists, every=0.1)
        receiver.start()
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
        wait_until(
            lambda: set(deliveries.values_list("status", flat=True)) == {"delivered"},
            timeout=120,
            every=0.5,
            between=deliveries_recover,
        )
    finally:
        receiver.kill()
    entries = read_log(log)
    received = [json.loads(entry["body"])["data"]["event"]["id"] for entry in entries]
    assert set(received) == {event.pk for event in events}  # at least once
    assert len(received) > len(set(received))  # what was in flight came again
    for entry in entries:
        Webhook(secret).verify(entry["body"], entry["headers"])
    ids = {}
    for entry in entries:  # a retry carries the same webhook-id as the first attempt
        event_id = json.loads(entry["body"])["data"]["event"]["id"]
        assert (
            ids.setdefault(event_id, entry["headers"]["webhook-id"])
            == entry["headers"]["webhook-id"]
        )
    for consignment_id, order in subject_orders(entries).items():
        assert order == sorted(order), f"consignment {consignment_id} out of order: {order}"


def test_a_worker_killed_mid_round_leaves_every_event_delivered(start_worker, company, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    receiver = Receiver(delay=0.4)
    env = worker_env(WEBHOOK_LEASE_SECONDS="4", WEBHOOK_RUN_SECONDS="1", WEBHOOK_THREADS="4")
    try:
        endpoint, secret = webhook_endpoint_create(
            company=company, url=receiver.url, event_types=TYPES
        )
        worker = start_worker(concurrency=1, extra_env=env)
        events = [record(make_consignment(company), kind="arrival") for _ in range(16)]
        wait_until(lambda: len(receiver.received()) >= 4, every=0.05)
        worker.kill()
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
        assert deliveries.filter(status="sending").exists()  # the round was cut short
        start_worker(concurrency=1, extra_env=env)
        wait_until(
            lambda: set(deliveries.values_list("status", flat=True)) == {"delivered"},
            timeout=120,
            every=0.5,
            between=deliveries_recover,
        )
        received = [json.loads(r["body"])["data"]["event"]["id"] for r in receiver.received()]
        assert set(received) == {event.pk for event in events}
        for request in receiver.received():
            Webhook(secret).verify(request["body"], request["headers"])
    finally:
        receiver.close()


def test_a_hanging_receiver_never_holds_up_another_endpoint(start_worker, company, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    hanging, fast = Receiver(), Receiver()
    hanging.hold = threading.Event()
    try:
        slow_endpoint, _ = webhook_endpoint_create(
            company=company, url=hanging.url, event_types=TYPES
        )
        fast_endpoint, _ = webhook_endpoint_create(company=company, url=fast.url, event_types=TYPES)
        start_worker(concurrency=2, extra_env=worker_env(WEBHOOK_TIMEOUT="120"))
        events = [record(make_consignment(company), kind="arrival") for _ in range(6)]
        fast_done = WebhookDelivery.objects.filter(endpoint=fast_endpoint, status="delivered")
        wait_until(lambda: fast_done.count() == len(events), every=0.1)
        # Every event reached the fast endpoint while the other still holds its calls.
        assert len(fast.received()) == len(events)
        assert hanging.received() and hanging.waiting >= 1
        assert not WebhookDelivery.objects.filter(
            endpoint=slow_endpoint, status="delivered"
        ).exists()
        hanging.hold.set()
        wait_until(
            lambda: (
                WebhookDelivery.objects.filter(endpoint=slow_endpoint, status="delivered").count()
                == 6
            ),
            timeout=120,
            between=deliveries_recover,
        )
    finally:
        hanging.close()
        fast.close()
