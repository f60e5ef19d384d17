"""Listens to tracking: every newly recorded event gets its outbox rows in the same transaction."""

from typing import Any

from notifications.services import deliveries_create_for_event


def on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    deliveries_create_for_event(event=event)
