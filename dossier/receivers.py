"""Listens to tracking: events that call for a system document, and the release."""

from typing import Any

from dossier.generation import generation_request


def on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    generation_request(event=event)
