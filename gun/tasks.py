"""Propagation of ledger entries to remote partners (GUN_RULES §6).

``propagate_partner(partner)`` delivers the partner's undelivered entries in id order, each in
its own transaction: the entry row is locked (``skip_locked``), sent with its idempotency key,
and marked sent in the transaction that saw the partner's acknowledgement. A crash between the
acknowledgement and the commit re-sends the same key later, which the partner treats as a
no-op (protocol in docs/gun.md): each movement takes effect exactly once, in order.

One flusher per partner at a time (a PostgreSQL advisory lock held by the flushing
connection; a killed worker's lock goes with its connection). Transient failures are retried
with exponential back-off and jitter; the sweep (every 30 s) catches everything else,
including entries held while the partner was unreachable.
"""

from __future__ import annotations

import logging
import random
import zlib

from celery import shared_task
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from gun.adapters import Adapter, PartnerRefused, adapter_for
from gun.engine import PartnerUnavailable
from gun.models import LedgerEntry, PropagationState
from gun.selectors import pending_entries
from sesame.celery import app

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
MAX_RETRIES = 8
BATCH = 500


def _lock_key(partner: str) -> int:
    return 0x67756E00 ^ zlib.crc32(partner.encode())  # "gun" + partner


def _advisory(partner: str, *, acquire: bool) -> bool:
    with connection.cursor() as cursor:
        if acquire:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(partner)])
        else:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(partner)])
        return bool(cursor.fetchone()[0])


class FlushBusy(Exception):
    """Another process is delivering this partner's entries."""


def propagation_flush(*, partner: str) -> int:
    """Deliver ``partner``'s pending entries in id order; stop at the first transient failure
    (raised as ``PartnerUnavailable``). Returns how many were delivered. Raises ``FlushBusy``
    when another process holds the partner's flush."""
    if not _advisory(partner, acquire=True):
        raise FlushBusy(partner)
    delivered = 0
    try:
        adapter = adapter_for(partner)
        while True:
            pending = list(pending_entries(partner=partner).values_list("id", flat=True)[:BATCH])
            if not pending:
                return delivered
            for entry_id in pending:
                try:
                    delivered += _deliver(adapter, partner, entry_id)
                except PartnerUnavailable as exc:
                    # The send's transaction rolled back: the attempt and the link's state
                    # are recorded in their own, committed (docs/gun.md, "Propagation").
                    _attempt_failed(adapter, entry_id, str(exc))
                    raise
    finally:
        _advisory(partner, acquire=False)


def _deliver(adapter: Adapter, partner: str, entry_id: int) -> int:
    """Send one pending entry in its own transaction, the row locked; 1 when it was sent, 0
    when refused for good (``failed``) or delivered meanwhile. ``PartnerUnavailable`` rolls the
    transaction back and propagates."""
    with transaction.atomic():
        # NO KEY: a release or imputation closing this entry (a foreign key to it) must not
        # wait for a slow partner.
        entry = (
            LedgerEntry.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk=entry_id, state=PropagationState.PENDING)
            .first()
        )
        if entry is None:
            return 0  # delivered meanwhile
        entry.attempts += 1
        try:
            adapter.send(entry)
        except PartnerRefused as exc:
            entry.state = PropagationState.FAILED
            entry.last_error = str(exc)[:2000]
            entry.save(update_fields=["state", "attempts", "last_error"])
            logger.error("partner %s refused %s: %s", partner, entry.pk, exc)
            return 0
        entry.state = PropagationState.SENT
        entry.sent_at = timezone.now()
        entry.last_error = ""
        entry.save(update_fields=["state", "sent_at", "attempts", "last_error"])
        return 1


def _attempt_failed(adapter: Adapter, entry_id: int, error: str) -> None:
    """A send failed for a transient reason: count the attempt, keep the error, and mark the
    link down, each committed whatever happens next."""
    with transaction.atomic():
        LedgerEntry.objects.filter(pk=entry_id, state=PropagationState.PENDING).update(
            attempts=F("attempts") + 1, last_error=error[:2000]
        )
        adapter.mark(up=False, error=error)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def propagate_partner(self, partner: str) -> int:
    """Deliver the partner's pending entries; retry with back-off and jitter when it is down."""
    try:
        return propagation_flush(partner=partner)
    except FlushBusy:
        # The running flush may have passed our entry: look again shortly.
        raise self.retry(countdown=1 + random.random(), max_retries=MAX_RETRIES) from None  # noqa: S311
    except PartnerUnavailable:
        if self.request.retries >= MAX_RETRIES:
            return 0  # the sweep takes over
        countdown = min(300, 2**self.request.retries) * (0.5 + random.random())  # noqa: S311
        raise self.retry(countdown=countdown) from None


@shared_task
def propagation_sweep() -> dict[str, int]:
    """Every 30 s: deliver every partner's pending entries (held ones included), in order."""
    partners = sorted(set(pending_entries().values_list("partner", flat=True)))
    delivered: dict[str, int] = {}
    for partner in partners:
        try:
            delivered[partner] = propagation_flush(partner=partner)
        except (FlushBusy, PartnerUnavailable):
            delivered[partner] = 0
    return delivered


@app.on_after_finalize.connect
def _schedule(sender, **kwargs) -> None:
    sender.add_periodic_task(SWEEP_SECONDS, propagation_sweep.s(), name="gun propagation sweep")
