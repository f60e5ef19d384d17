"""Signals other apps listen to (the webhooks and the change feed of `notifications`)."""

from django.dispatch import Signal

# Sent inside the transaction whenever a declaration's state or GUN outcome changes; kwargs:
# declaration=<Declaration>, action= one of ACTIONS.
declaration_changed = Signal()

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
