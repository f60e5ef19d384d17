"""Signals other apps listen to (contracts.md)."""

from django.dispatch import Signal

# Sent inside the recording transaction when an event is new; kwargs: event=<Event>.
event_recorded = Signal()
