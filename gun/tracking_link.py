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


def links_sql(*, declaration: Declaration) -> tuple[str, list[Any]]:
    """An SQL boolean expression with its parameters: whether a consignment links
    ``declaration`` (its MRN and client reference as set now). A service embeds it in a
    statement it sends anyway, then passes the answer to ``declaration_event`` as ``linked``."""
    try:
        from tracking.services import declaration_links_sql
    except ImportError:
        return "false", []
    return declaration_links_sql(
        company_id=declaration.company_id,
        declaration_id=str(declaration.pk),
        mrn=declaration.mrn,
        client_reference=declaration.client_reference,
    )


def declaration_event(
    *,
    declaration: Declaration,
    kind: str,
    source_event_id: str,
    payload: dict,
    linked: bool | None = None,
) -> list:
    """Record ``kind`` on the consignments linked to ``declaration``; [] when none is linked or
    tracking does not offer the contract. ``linked=False``: the caller already learned (through
    ``links_sql``, in its transaction) that no consignment links it: nothing is asked."""
    if kind not in KINDS:
        raise ValueError(f"unknown declaration event kind {kind!r}")
    record = _recorder()
    if record is None or linked is False:
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
