"""Reads of a company's webhook endpoints, their deliveries and attempts (always scoped to the
company: another company's object is None, hence 404)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from notifications.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


def endpoints_for_company(*, company: Any) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(company=company).order_by("created_at", "id")


def endpoint_get(*, company: Any, pk: Any) -> WebhookEndpoint | None:
    if not str(pk).isdigit():
        return None
    return endpoints_for_company(company=company).filter(pk=int(pk)).first()


def deliveries_for_endpoint(
    *, endpoint: WebhookEndpoint, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest event first, with their event (the delivery log);
    ``status="dead"`` is the dead-letter list."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-event_id", "-id")


def delivery_get(*, endpoint: WebhookEndpoint, pk: Any) -> WebhookDelivery | None:
    """One delivery of the endpoint with its attempts."""
    if not str(pk).isdigit():
        return None
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint, pk=int(pk))
        .select_related("event")
        .prefetch_related(
            Prefetch("attempt_set", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .first()
    )


def dead_count(*, endpoint: WebhookEndpoint) -> int:
    return WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryState.DEAD).count()
