"""Audit trail: database triggers (django-pghistory) record every insert, update and delete,
bulk updates included, with the request's context (user or API key, URL)."""

import pghistory


def audited():
    """Decorator for a business model: an event row per insert, update and delete."""
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent()
    )
