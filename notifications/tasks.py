"""Workers' side of the outbox: deliver rows by id, and sweep what a crash left behind."""

from typing import Any

from celery import shared_task

from sesame.celery import app


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(delivery_ids: list[int]) -> None:
    """Send each delivery (claimed one by one); transient failures come back after a delay."""
    from notifications.services import delivery_send

    for delivery_id in delivery_ids:
        delay = delivery_send(delivery_id=int(delivery_id))
        if delay is not None:
            deliver.apply_async(([delivery_id],), countdown=delay)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep() -> int:
    """Re-enqueue pending rows that are due and sending rows whose lease has run out."""
    from notifications.services import deliveries_recover

    return len(deliveries_recover())


@app.on_after_finalize.connect
def _schedule(sender: Any, **kwargs: Any) -> None:
    sender.add_periodic_task(30.0, sweep.s(), name="notifications: sweep the outbox")
