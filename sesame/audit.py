"""Audit trail: database triggers (django-pghistory) record every insert, update and delete,
bulk updates included, with the request's context (user or API key, URL)."""

import pghistory


def audited(*, exclude: list[str] | None = None):
    """Decorator for a business model: an event row per insert, update and delete.

    ``exclude``: bookkeeping fields left out of the trail; an update that changes only them
    records nothing (e.g. an API key's last use)."""
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), exclude=exclude
    )
