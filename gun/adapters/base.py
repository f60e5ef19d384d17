"""The adapter interface."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Protocol

from gun.engine import DocumentKey, PartnerDocument
from gun.models import LedgerEntry


class PartnerRefused(Exception):
    """The partner answered and refused a movement for good (4xx): retrying will not help."""


class Adapter(Protocol):
    kind: str
    partner: str

    def lookup(
        self, keys: list[DocumentKey], *, declaration_id: uuid.UUID | None
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        """The partner's view of each document, ``available`` computed for ``declaration_id``
        (its own reservation counts as available). Raises ``PartnerUnavailable``."""
        ...

    def mark(self, *, up: bool, error: str = "") -> None:
        """Record the link as up or down (with the error), when that changes."""
        ...

    def send(self, entry: LedgerEntry) -> None:
        """Deliver one ledger movement; a replay of the same idempotency key is a no-op.
        Raises ``PartnerUnavailable`` (transient) or ``PartnerRefused`` (permanent)."""
        ...
