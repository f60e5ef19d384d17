"""Workers' side of the webhooks: serve an endpoint, and sweep what a crash or a lost task left."""

from typing import Any

from celery import shared_task

from sesame.celery import app


@shared_task(name="notifications.webhooks.deliver", ignore_result=True)
def deliver(endpoint_id: int) -> None:
    """Serve one endpoint for a while (notifications.webhooks.services.endpoint_deliver)."""
    from notifications.webhooks.services import endpoint_deliver

    endpoint_deliver(endpoint_id=int(endpoint_id))


@shared_task(name="notifications.webhooks.sweep", ignore_result=True)
def sweep() -> int:
    """Hand back endpoints with due rows or rows whose lease ran out."""
    from notifications.webhooks.services import deliveries_recover

    return len(deliveries_recover())


@app.on_after_finalize.connect
def _schedule(sender: Any, **kwargs: Any) -> None:
    from notifications.webhooks import conf

    sender.add_periodic_task(conf.SWEEP_SECONDS, sweep.s(), name="webhooks: sweep the outbox")
