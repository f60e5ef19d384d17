"""Writing the company event log, inside the transaction of the change it reports.

Guarantees:
- one statement per event whatever the subscriptions: it takes tracking's per-company advisory
  lock (the one ``tracking.services.event_record`` takes, so the two never wait for each other
  in opposite orders), inserts the event, and inserts one webhook delivery per enabled endpoint
  of the company subscribed to the type (the outbox, ``notifications.webhooks``);
- rows of one company commit in the order of their ids (the lock is held to the end of the
  transaction and the id is drawn under it): a reader resuming after an id never skips an
  event committed later with a lower one (``notifications.feed.selectors``);
- the deliveries are handed to the workers after commit, never for a rolled-back event.

The statement is prepared once per connection (``sesame.prepared``): the GUN's validation
sends it on its hot path, where planning it each time would cost more than running it.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from notifications.feed.models import CompanyEvent
from notifications.feed.types import EVENT_TYPES
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from sesame.prepared import Prepared, named
from tracking.services import EVENTS_LOCK_NAMESPACE

logger = logging.getLogger("sesame.notifications")


@dataclass(frozen=True)
class Recorded:
    event_id: int
    endpoint_ids: list[int]  # endpoints that got a delivery of it


@functools.cache
def _record_statement() -> Prepared:
    event = CompanyEvent._meta.db_table
    delivery = WebhookDelivery._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    # Only table names are formatted in; every value is a parameter.
    body = (
        "WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock($1, $2)), "  # noqa: S608
        f'ev AS (INSERT INTO "{event}" (company_id, type, subject_type, subject_id, data, '
        "created_at) SELECT $3, $4, $5, $6, $7, $8 FROM lock "
        "RETURNING id, company_id, type, subject_type, subject_id, created_at), "
        f'd AS (INSERT INTO "{delivery}" (event_id, endpoint_id, subject, status, attempts, '
        "retries, replays, not_before, last_error, created_at, updated_at) "
        "SELECT ev.id, e.id, ev.subject_type || ':' || ev.subject_id, 'pending', 0, 0, 0, "
        "ev.created_at, '', ev.created_at, ev.created_at "
        f'FROM ev JOIN "{endpoint}" e ON e.company_id = ev.company_id AND e.enabled '
        "AND ev.type = ANY(e.event_types) RETURNING endpoint_id) "
        "SELECT (SELECT id FROM ev), ARRAY(SELECT endpoint_id FROM d)"
    )
    return named(
        "feed_record",
        body,
        ["integer", "integer", "bigint", "text", "text", "text", "jsonb", "timestamptz"],
    )


def company_event_record(
    *, company_id: int, event_type: str, subject_type: str, subject_id: str, data: dict[str, Any]
) -> Recorded:
    """Record one event of a company and its webhook deliveries, inside the caller's
    transaction (see the module's guarantees); the deliveries go to the workers after
    commit. Raises ValueError for a type not in the registry."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not connection.in_atomic_block:
        raise RuntimeError("an event is recorded inside the transaction of its change")
    statement = _record_statement()
    with connection.cursor() as cursor:
        cursor.execute(
            statement.ensure(),
            [
                EVENTS_LOCK_NAMESPACE,
                company_id % 2**31,
                company_id,
                event_type,
                subject_type,
                str(subject_id)[:64],
                json.dumps(data, cls=DjangoJSONEncoder),
                timezone.now(),
            ],
        )
        event_id, endpoint_ids = cursor.fetchone()
    if endpoint_ids:
        from notifications.webhooks.services import deliveries_enqueue

        ids = sorted(set(endpoint_ids))
        transaction.on_commit(functools.partial(deliveries_enqueue, endpoint_ids=ids))
    return Recorded(event_id, list(endpoint_ids))


# --- what each source records ------------------------------------------------------------


def declaration_data(declaration: Any, action: str) -> dict[str, Any]:
    """A declaration's summary (the detail is at its URL), and the GUN run that just ended
    when the action is one (only when already in memory: never a query on the hot path)."""
    data: dict[str, Any] = {
        "declaration": {
            "id": str(declaration.pk),
            "client_reference": declaration.client_reference,
            "importer_eori": declaration.importer_eori,
            "status": declaration.status,
            "mrn": declaration.mrn,
            "control_required": declaration.control_required,
            "control_status": declaration.control_status,
            "version": declaration.version,
            "url": f"/api/v1/declarations/{declaration.pk}/",
        },
    }
    last_run = type(declaration).last_run
    if action in {"anticipated", "replaced", "validated", "rejected", "rectified"} and (
        last_run.is_cached(declaration) and declaration.last_run is not None
    ):
        run = declaration.last_run
        data["gun"] = {"stage": run.stage, "outcome": run.outcome}
    return data


def declaration_changed(*, declaration: Any, action: str) -> Recorded | None:
    """``declaration.<action>`` for the declarant's company."""
    code = f"declaration.{action}"
    if code not in EVENT_TYPES:
        # A new action of the GUN must not break its transaction: it waits for its type.
        logger.error("no event type for declaration action %r: not in the feed", action)
        return None
    return company_event_record(
        company_id=declaration.company_id,
        event_type=code,
        subject_type="declaration",
        subject_id=str(declaration.pk),
        data=declaration_data(declaration, action),
    )


def tracking_event_recorded(*, event: Any) -> Recorded:
    """``consignment.event_recorded`` for the consignment's company (the event as the
    consignment's API detail lists it)."""
    consignment = event.consignment
    return company_event_record(
        company_id=consignment.company_id,
        event_type="consignment.event_recorded",
        subject_type="consignment",
        subject_id=str(consignment.pk),
        data={
            "consignment": {
                "id": consignment.pk,
                "reference": consignment.reference,
                "url": f"/api/v1/consignments/{consignment.pk}/",
            },
            "event": {
                "id": event.pk,
                "kind": event.kind,
                "occurred_at": event.occurred_at,
                "source": event.source,
                "author": event.author,
                "payload": event.payload or {},
            },
        },
    )


def appointment_changed(*, appointment: Any, action: str) -> Recorded | None:
    """``appointment.<action>`` for the company of the appointment's consignment
    (APPOINTMENTS.md's fields)."""
    code = f"appointment.{action}"
    if code not in EVENT_TYPES:
        logger.error("no event type for appointment action %r: not in the feed", action)
        return None
    consignment = appointment.consignment
    return company_event_record(
        company_id=consignment.company_id,
        event_type=code,
        subject_type="appointment",
        subject_id=str(appointment.pk),
        data={
            "appointment": {
                "id": appointment.pk,
                "consignment": consignment.pk,
                "service": appointment.service,
                "start": appointment.start,
                "end": appointment.end,
                "status": appointment.status,
                "url": f"/api/v1/appointments/{appointment.pk}/",
            },
        },
    )


def waitlist_offered(*, entry: Any) -> Recorded:
    """``appointment.waitlist_offered`` for the company of the waiting consignment: the slot
    held for it and until when (APPOINTMENTS.md's waitlist fields)."""
    consignment = entry.consignment
    return company_event_record(
        company_id=consignment.company_id,
        event_type="appointment.waitlist_offered",
        subject_type="waitlist",
        subject_id=str(entry.pk),
        data={
            "waitlist": {
                "id": entry.pk,
                "consignment": consignment.pk,
                "service": entry.service,
                "date": entry.date,
                "status": entry.status,
                "offer": {"start": entry.offer_start, "expires_at": entry.offer_expires_at},
                "url": f"/api/v1/appointments/waitlist/{entry.pk}/",
            },
        },
    )


def document_added(*, document: Any) -> Recorded:
    """``dossier.document_added`` for the consignment's company (DOSSIER.md's fields); the
    subject is the consignment's dossier, so its documents arrive in order."""
    consignment = document.consignment
    return company_event_record(
        company_id=consignment.company_id,
        event_type="dossier.document_added",
        subject_type="dossier",
        subject_id=str(consignment.pk),
        data={
            "document": {
                "id": document.pk,
                "consignment": consignment.pk,
                "type": document.type,
                "reference": document.reference,
                "version": document.version,
                "url": f"/api/v1/documents/{document.pk}/",
            },
        },
    )


def dossier_completed(*, consignment: Any) -> Recorded:
    """``dossier.completed`` for the consignment's company."""
    return company_event_record(
        company_id=consignment.company_id,
        event_type="dossier.completed",
        subject_type="dossier",
        subject_id=str(consignment.pk),
        data={
            "consignment": {
                "id": consignment.pk,
                "reference": consignment.reference,
                "url": f"/api/v1/consignments/{consignment.pk}/dossier/",
            },
        },
    )
