"""Reads of the company event log: the change feed, and the document of one event (the same
JSON in the feed and in a webhook's body)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from notifications.feed.models import CompanyEvent

PUBLIC_PREFIX = "evt_"


def event_document(event: CompanyEvent) -> dict[str, Any]:
    """``{"id", "type", "timestamp", "subject": {"type", "id"}, "data"}``."""
    return {
        "id": event.public_id,
        "type": event.type,
        "timestamp": event.created_at,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "data": event.data,
    }


def event_body(event: CompanyEvent) -> bytes:
    """The event's document as the bytes a webhook sends (and signs)."""
    return json.dumps(
        event_document(event), cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False
    ).encode()


def event_position(public_id: str) -> int | None:
    """The position an event id names (``evt_123`` → 123); None when it names none."""
    digits = public_id[len(PUBLIC_PREFIX) :] if public_id.startswith(PUBLIC_PREFIX) else ""
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


def company_events_after(
    *, company: Any, after: int, limit: int, types: list[str] | None = None
) -> list[CompanyEvent]:
    """The company's events after position ``after``, in commit order, ``limit`` at most.

    Commit order is id order within a company (notifications.feed.services), so resuming
    after the last id read never skips an event, however late it committed."""
    events: QuerySet[CompanyEvent] = CompanyEvent.objects.filter(company=company, id__gt=after)
    if types:
        events = events.filter(type__in=types)
    return list(events.order_by("id")[:limit])
