"""What the GUN tells the rest of the portal, without knowing who listens.

``declaration_changed`` is sent inside the transaction of every use case that changes a
declaration's state or GUN outcome, once the change is written (a receiver that fails rolls
the change back; one that sends anything out waits for ``transaction.on_commit``). Keyword
arguments: ``declaration`` (the row as changed) and ``action``, one of ``ACTIONS``. With no
receiver connected, sending costs one attribute check.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

ACTIONS = (
    "anticipated",
    "replaced",
    "validated",
    "rejected",
    "rectified",
    "cancelled",
    "released",
    "control_decided",
)

declaration_changed = Signal()


def declaration_changed_send(*, declaration: Any, action: str) -> None:
    """Send ``declaration_changed`` (``action`` must be one of ``ACTIONS``)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown declaration action {action!r}")
    if declaration_changed.receivers:
        declaration_changed.send(sender=type(declaration), declaration=declaration, action=action)
