import uuid
from typing import Any

from django.utils import timezone

from tracking.services import event_record


def record(
    consignment: Any,
    kind: str = "declaration_rejected",
    payload: dict | None = None,
    source_event_id: str | None = None,
    source: str = "DELTA",
) -> Any:
    """Record an event through tracking's real service; returns the event."""
    event, _ = event_record(
        consignment=consignment,
        kind=kind,
        occurred_at=timezone.now(),
        source=source,
        source_event_id=source_event_id or uuid.uuid4().hex,
        payload=payload or {},
    )
    return event
