"""Listens to tracking: every newly recorded event gets its outbox rows in the same transaction.

The change feed and the webhooks listen to every source of events a company may see, each
receiver one call to ``notifications.feed.services`` inside the sender's transaction.
"""

from typing import Any

from notifications.feed import services as feed
from notifications.services import deliveries_create_for_event


def on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    deliveries_create_for_event(event=event)


def feed_on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    feed.tracking_event_recorded(event=event)


def feed_on_declaration_changed(sender: Any, declaration: Any, action: str, **kwargs: Any) -> None:
    feed.declaration_changed(declaration=declaration, action=action)


def feed_on_appointment_changed(sender: Any, appointment: Any, action: str, **kwargs: Any) -> None:
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
