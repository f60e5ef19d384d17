"""Listens to tracking (every newly recorded event gets its outbox rows in the same transaction)
and to the dossier (a document from a partner or from Sesame, a dossier now complete)."""

from typing import Any

from notifications.services import deliveries_create_for_event, deliveries_create_for_subject


def on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    deliveries_create_for_event(event=event)


def on_document_added(sender: Any, document: Any, **kwargs: Any) -> None:
    """A document the company did not upload itself: from a partner system or from Sesame."""
    if document.origin not in ("partner", "system"):
        return
    source = document.partner or "Sesame"
    deliveries_create_for_subject(
        consignment=document.consignment,
        kind_code="document_added",
        subject=f"document:{document.pk}",
        details={"note": " — ".join(part for part in (document.reference, source) if part)},
    )


def on_dossier_completed(sender: Any, consignment: Any, **kwargs: Any) -> None:
    deliveries_create_for_subject(
        consignment=consignment,
        kind_code="dossier_completed",
        subject=f"dossier_completed:{consignment.pk}",
        details={},
    )
