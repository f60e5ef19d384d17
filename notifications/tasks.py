"""Workers' side of the outbox: deliver rows in batches, and sweep what a crash left behind."""

from typing import Any

from celery import shared_task
from celery.signals import celeryd_after_setup

from notifications import conf
from notifications.services import (
    DELIVER_TASK,
    batch_started,
    deliveries_enqueue,
    deliveries_recover,
    deliveries_send_batch,
)
from sesame.celery import app


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_ids: list[int], channel: str = "") -> None:
    """Send a batch: the given rows plus other due rows of `channel` up to conf.BATCH_SIZE
    (claimed together; a row another worker holds is skipped). A full claim enqueues the next
    task of its channel before sending (more rows may be due: another process takes them while
    this one sends); rows with a transient error come back in one
    task per channel once the longest of their back-offs has passed."""
    ids = [int(pk) for pk in delivery_ids]
    fill = max(conf.BATCH_SIZE - len(ids), 0) if channel else 0
    if channel:
        batch_started(channel=channel)
    batch = deliveries_send_batch(
        delivery_ids=ids,
        channel=channel or None,
        fill=fill,
        # Not coalesced: each full claim adds one task, so as many batches run side by side as
        # there were tasks to start them; a claim that is not full ends its line.
        when_full=lambda: deliveries_enqueue(delivery_ids=[], channel=channel),
    )
    by_channel: dict[str, list[Any]] = {}
    for retry in batch.retries:
        by_channel.setdefault(retry.channel, []).append(retry)
    for retry_channel, items in by_channel.items():
        deliveries_enqueue(
            delivery_ids=[(item.delivery_id, retry_channel) for item in items],
            countdown=max(item.delay for item in items),
        )


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep() -> int:
    """Re-enqueue pending rows that are due and sending rows whose lease has run out."""
    return len(deliveries_recover())


@app.on_after_finalize.connect
def _schedule(sender: Any, **kwargs: Any) -> None:
    sender.add_periodic_task(30.0, sweep.s(), name="notifications: sweep the outbox")


@celeryd_after_setup.connect
def _consume_delivery_queues(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A worker started without -Q consumes every queue it knows: make the delivery queues
    known to it, so that such a worker delivers notifications too. A worker started with -Q
    consumes what it was told (`-Q celery,notify_sms,notify_email,webhooks` for all of it)."""
    from notifications import conf
    from notifications.webhooks import conf as webhooks_conf

    queues = instance.app.amqp.queues
    if getattr(queues, "_consume_from", None) is None:  # no -Q
        for name in [*conf.QUEUES.values(), webhooks_conf.QUEUE]:
            queues.select_add(name)


# The webhooks' tasks, found by Celery's autodiscovery through this module.
from notifications.webhooks import tasks as _webhook_tasks  # noqa: E402, F401
