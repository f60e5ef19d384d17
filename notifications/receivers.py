"""Listens to tracking (every newly recorded event), to appointments (every change) and to the
dossier (a document from a partner or from Sesame, a dossier now complete): their outbox rows are
written in the same transaction.

The change feed and the webhooks listen to every source of events a company may see, each
receiver one call to ``notifications.feed.services`` inside the sender's transaction.
"""

from typing import Any

from notifications.feed import services as feed
from notifications.services import deliveries_create_for_event


def on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    deliveries_create_for_event(event=event)


def on_appointment_changed(sender: Any, appointment: Any, action: str, **kwargs: Any) -> None:
    """An appointment change: what the appointments app says about it becomes a notice."""
    from dataclasses import asdict

    from appointments.notices import notice_for
    from notifications.kinds import kinds_for_appointment_action
    from notifications.services import notice_record

    kinds = kinds_for_appointment_action(action)
    if not kinds:
        return
    content = notice_for(appointment=appointment, action=action, **kwargs)
    if content is None:
        return
    notice_record(
        key=content.key,
        consignment=content.consignment,
        occurred_at=content.occurred_at,
        texts=content.texts,
        attachments=[asdict(item) for item in content.attachments],
        kinds=kinds,
    )


def _dossier_notice(*, key: str, consignment: Any, kind: str, event: Any, detail: str) -> None:
    """A dossier change as a notice: `event` (a lazy label) in each language, then `detail`."""
    from django.utils import timezone, translation

    from notifications.kinds import KINDS
    from notifications.services import notice_record

    texts = {}
    for language in ("fr", "en"):
        with translation.override(language):
            texts[language] = {"event": str(event), "detail": detail}
    notice_record(
        key=key,
        consignment=consignment,
        occurred_at=timezone.now(),
        texts=texts,
        attachments=[],
        kinds=[KINDS[kind]],
    )


def on_document_added(sender: Any, document: Any, **kwargs: Any) -> None:
    """A document the company did not upload itself: from a partner system or from Sesame."""
    from dossier.types import TYPES

    if document.origin not in ("partner", "system"):
        return
    source = document.partner or "Sesame"
    _dossier_notice(
        key=f"dossier:document:{document.pk}",
        consignment=document.consignment,
        kind="document_added",
        event=TYPES[document.type].label,
        detail=" — ".join(part for part in (document.reference, source) if part),
    )


def on_dossier_completed(sender: Any, consignment: Any, **kwargs: Any) -> None:
    _dossier_notice(
        key=f"dossier:completed:{consignment.pk}",
        consignment=consignment,
        kind="dossier_completed",
        event="",
        detail="",
    )


def feed_on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    feed.tracking_event_recorded(event=event)


def feed_on_declaration_changed(sender: Any, declaration: Any, action: str, **kwargs: Any) -> None:
    feed.declaration_changed(declaration=declaration, action=action)


def feed_on_appointment_changed(sender: Any, appointment: Any, action: str, **kwargs: Any) -> None:
    if appointment is None:  # a waitlist offer: the subject is the waiting entry
        entry = kwargs.get("waitlist_entry")
        if entry is not None:
            feed.waitlist_offered(entry=entry)
        return
    feed.appointment_changed(appointment=appointment, action=action)


def feed_on_document_added(sender: Any, document: Any, **kwargs: Any) -> None:
    feed.document_added(document=document)


def feed_on_dossier_completed(sender: Any, consignment: Any, **kwargs: Any) -> None:
    feed.dossier_completed(consignment=consignment)


# (module of the signal, its name, receiver): connected when the sending app is installed.
FEED_SOURCES = [
    ("tracking.signals", "event_recorded", feed_on_event_recorded),
    ("gun.signals", "declaration_changed", feed_on_declaration_changed),
    ("appointments.signals", "appointment_changed", feed_on_appointment_changed),
    ("dossier.signals", "document_added", feed_on_document_added),
    ("dossier.signals", "dossier_completed", feed_on_dossier_completed),
]
