"""The one place the GUN calls tracking (contract: tracking.services.declaration_event_record).

Called inside the GUN's transactions, so the event commits or rolls back with the change. The
import is lazy: tracking imports nothing from gun, and a build without tracking still runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from gun.models import Declaration

KINDS = (
    "declaration_lodged",
    "declaration_rejected",
    "declaration_validated",
    "declaration_controlled",
    "declaration_released",
)


def _recorder() -> Any:
    try:
        from tracking.services import declaration_event_record
    except ImportError:
        return None
    return declaration_event_record


def declaration_event(
    *, declaration: Declaration, kind: str, source_event_id: str, payload: dict
) -> list:
    """Record ``kind`` on the consignments linked to ``declaration``; [] when none is linked or
    tracking does not offer the contract."""
    if kind not in KINDS:
        raise ValueError(f"unknown declaration event kind {kind!r}")
    record = _recorder()
    if record is None:
        return []
    return list(
        record(
            company=declaration.company,
            declaration_id=str(declaration.pk),
            mrn=declaration.mrn,
            client_reference=declaration.client_reference,
            kind=kind,
            occurred_at=timezone.now(),
            payload=payload,
            source_event_id=source_event_id,
        )
    )
