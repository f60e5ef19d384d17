"""Writes about consignments and their events. Each public function is one transaction."""

import json
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from sesame.models import BorderControlPost, Company
from tracking import live
from tracking.identifiers import container_compact
from tracking.kinds import DECLARATION_KINDS, KINDS
from tracking.models import Consignment, DeclarationLink, Event
from tracking.signals import event_recorded

CONSIGNMENT_FIELDS = (
    "reference",
    "container_numbers",
    "transport_document_type",
    "transport_document_number",
    "port",
    "post",
    "expected_arrival",
    "categories",
    "ched_references",
)


def _status_refresh(*, consignment: Consignment) -> None:
    """Recompute the cached status from the events (the events stay the truth)."""
    from tracking.timeline import timeline_build

    events = list(consignment.timeline_events.all())
    status = timeline_build(
        events=events,
        categories=consignment.categories,
        expected_arrival=consignment.expected_arrival,
    ).status
    Consignment.objects.filter(pk=consignment.pk).exclude(status=status).update(status=status)
    consignment.status = status


class EventConflict(Exception):
    """A partner replayed a ``source_event_id`` with content other than the first delivery's."""


def _same_event(event: Event, **content: Any) -> bool:
    """Whether a replayed delivery carries the content the first one recorded."""
    return (
        event.consignment_id == content["consignment"].pk
        and event.kind == content["kind"]
        and event.occurred_at == content["occurred_at"]
        and event.author == content["author"]
        # Compared as stored: JSON has no tuples, and the database's copy is JSON.
        and event.payload == json.loads(json.dumps(content["payload"]))
    )


# First key of the two-key advisory lock that serialises event inserts per company.
EVENTS_LOCK_NAMESPACE = 0x7472_6B01


def _company_events_lock(*, company_id: int) -> None:
    """Wait for, then hold until the end of the transaction, the right to insert events of this
    company. Ids come from a sequence at insert time, so without it two transactions could
    commit their events in the opposite order to their ids, and a stream reader resuming after
    the higher id (Last-Event-ID) would never see the lower one. Keys wrap to int4: two
    companies sharing a key only wait for each other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [EVENTS_LOCK_NAMESPACE, company_id % 2**31],
        )


@transaction.atomic
def event_record(
    *,
    consignment: Consignment,
    kind: str,
    occurred_at: datetime,
    source: str,
    source_event_id: str,
    author: str = "",
    payload: dict[str, Any] | None = None,
) -> tuple[Event, bool]:
    """Record one event of a consignment; returns (event, created).

    Idempotent on (source, source_event_id): a second delivery returns the first event with
    created=False and sends nothing (``partner_event_record`` also checks that it carries the
    same content). When created, `event_recorded` is sent inside this transaction, the
    consignment's cached status is refreshed, and the event is published on Redis after
    commit. Events of one company commit in the order of their ids (a per-company advisory lock
    held to the end of the enclosing transaction), so a reader that has seen an id has seen
    every lower one of that company. Raises ValidationError for an unknown kind.
    """
    if kind not in KINDS:
        raise ValidationError({"kind": _("Unknown event kind %(kind)s.") % {"kind": kind}})
    _company_events_lock(company_id=consignment.company_id)
    event, created = Event.objects.get_or_create(
        source=source,
        source_event_id=source_event_id,
        defaults={
            "consignment": consignment,
            "kind": kind,
            "occurred_at": occurred_at,
            "author": author[:200],
            "payload": payload or {},
        },
    )
    if not created:
        return event, False
    _status_refresh(consignment=consignment)
    event_recorded.send(sender=Event, event=event)
    message = partial(
        live.publish,
        company_id=consignment.company_id,
        event_id=event.pk,
        consignment_id=consignment.pk,
        kind=kind,
        occurred_at=occurred_at.isoformat(),
    )
    transaction.on_commit(message)
    return event, True


@transaction.atomic
def partner_event_record(
    *,
    consignment: Consignment,
    kind: str,
    occurred_at: datetime,
    source: str,
    source_event_id: str,
    author: str,
    payload: dict[str, Any],
) -> tuple[Event, bool]:
    """Record an event a partner system delivered, as ``event_record`` does; a replayed
    ``source_event_id`` must carry the first delivery's content (consignment, kind, time,
    author, payload), else ``EventConflict`` and nothing changes."""
    event, created = event_record(
        consignment=consignment,
        kind=kind,
        occurred_at=occurred_at,
        source=source,
        source_event_id=source_event_id,
        author=author,
        payload=payload,
    )
    if not created and not _same_event(
        event,
        consignment=consignment,
        kind=kind,
        occurred_at=occurred_at,
        author=author[:200],
        payload=payload,
    ):
        raise EventConflict(source_event_id)
    return event, created


def declaration_links_sql(
    *, company_id: int, declaration_id: str, mrn: str | None, client_reference: str
) -> tuple[str, list[Any]]:
    """An SQL boolean expression (with its parameters): whether any consignment of the company
    links the declaration, by declaration id, MRN or client reference. One indexed EXISTS,
    without lock; a caller may embed it in a statement of its own to save a round trip, then
    call ``declaration_event_record`` only when it is true."""
    link = DeclarationLink._meta.db_table
    consignment = Consignment._meta.db_table
    conditions, params = [], []
    for column, value in (
        ("declaration_id", declaration_id),
        ("mrn", mrn),
        ("client_reference", client_reference),
    ):
        if value:
            conditions.append(f"l.{column} = %s")
            params.append(value)
    if not conditions:
        return "false", []
    return (
        f"EXISTS (SELECT 1 FROM {link} l JOIN {consignment} c"  # noqa: S608
        f" ON c.id = l.consignment_id WHERE c.company_id = %s"
        f" AND ({' OR '.join(conditions)}))",
        [company_id, *params],
    )


def _links_exist(
    *, company_id: int, declaration_id: str, mrn: str | None, client_reference: str
) -> bool:
    """Whether any consignment of the company links the declaration (most declarations are
    linked to no consignment): one indexed EXISTS, without lock or savepoint."""
    sql, params = declaration_links_sql(
        company_id=company_id,
        declaration_id=declaration_id,
        mrn=mrn,
        client_reference=client_reference,
    )
    if not params:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return bool(cursor.fetchone()[0])


def declaration_event_record(
    *,
    company: Company,
    declaration_id: str,
    mrn: str | None,
    client_reference: str,
    kind: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    source_event_id: str,
) -> list[Event]:
    """Record a declaration event on every consignment of `company` linked to the declaration
    (by declaration id, by MRN once known, or by client reference); returns the events, an
    empty list when no consignment is linked. Links learn the declaration id and MRN on the
    way. Idempotent per consignment on source_event_id (source "GUN"). With no link it costs
    one indexed read: no savepoint, no lock."""
    if kind not in DECLARATION_KINDS:
        raise ValidationError(
            {"kind": _("Unknown declaration event kind %(kind)s.") % {"kind": kind}}
        )
    if not _links_exist(
        company_id=company.pk,
        declaration_id=declaration_id,
        mrn=mrn,
        client_reference=client_reference,
    ):
        # Nothing to record; the locking read below would not see an uncommitted link either.
        return []
    with transaction.atomic():
        return _declaration_event_record_linked(
            company=company,
            declaration_id=declaration_id,
            mrn=mrn,
            client_reference=client_reference,
            kind=kind,
            occurred_at=occurred_at,
            payload=payload,
            source_event_id=source_event_id,
        )


def _declaration_event_record_linked(
    *,
    company: Company,
    declaration_id: str,
    mrn: str | None,
    client_reference: str,
    kind: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    source_event_id: str,
) -> list[Event]:
    match = Q(declaration_id=declaration_id) if declaration_id else Q(pk__in=[])
    if mrn:
        match |= Q(mrn=mrn)
    if client_reference:
        match |= Q(client_reference=client_reference)
    links = list(
        DeclarationLink.objects.select_for_update()
        .filter(match, consignment__company=company)
        .select_related("consignment")
        .order_by("consignment_id", "pk")
    )
    events: list[Event] = []
    seen: set[int] = set()
    for link in links:
        updates = {}
        if declaration_id and not link.declaration_id:
            updates["declaration_id"] = declaration_id
        if mrn and not link.mrn:
            updates["mrn"] = mrn
        if updates:
            DeclarationLink.objects.filter(pk=link.pk).update(**updates)
        if link.consignment_id in seen:
            continue
        seen.add(link.consignment_id)
        event, _created = event_record(
            consignment=link.consignment,
            kind=DECLARATION_KINDS[kind],
            occurred_at=occurred_at,
            source="GUN",
            source_event_id=f"{source_event_id}/{link.consignment_id}",
            author="GUN",
            payload={**(payload or {}), **({"mrn": mrn} if mrn else {})},
        )
        events.append(event)
    return events


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "container_numbers" in values:
        values["container_numbers"] = [container_compact(v) for v in values["container_numbers"]]
    if "reference" in values and isinstance(values["reference"], str):
        values["reference"] = values["reference"].strip()
    return values


def _post_check(*, consignment: Consignment) -> None:
    post: BorderControlPost | None = consignment.post
    if post is not None and post.port != consignment.port:
        raise ValidationError({"post": _("This border control post is not at that port.")})


def _links_replace(*, consignment: Consignment, declarations: list[dict[str, str]]) -> None:
    consignment.declaration_links.all().delete()
    for declaration in declarations:
        link = DeclarationLink(
            consignment=consignment,
            declaration_id=declaration.get("declaration_id", ""),
            mrn=declaration.get("mrn", ""),
            client_reference=declaration.get("client_reference", ""),
        )
        link.full_clean(exclude=["consignment"])
        link.save()


@transaction.atomic
def consignment_create(
    *, company: Company, declarations: list[dict[str, str]] | None = None, **values: Any
) -> Consignment:
    """Create a consignment of `company` (validated: ISO 6346 containers, CHED references, a
    post at the chosen port) with its declaration links. A reference already used in the
    company raises IntegrityError (constraint ``consignment_reference_unique``), also when two
    creations race."""
    consignment = Consignment(company=company, **_clean_values(values))
    # The reference's uniqueness is left to the database, which alone decides between two
    # concurrent creations (IntegrityError: 409 consignment_reference_taken in the API).
    consignment.full_clean(validate_unique=False, validate_constraints=False)
    _post_check(consignment=consignment)
    consignment.save()
    _links_replace(consignment=consignment, declarations=declarations or [])
    return consignment


@transaction.atomic
def consignment_update(
    *,
    consignment: Consignment,
    declarations: list[dict[str, str]] | None = None,
    **values: Any,
) -> Consignment:
    """Change the given fields of a consignment (same validation as creation); when
    `declarations` is given it replaces the declaration links. Refreshes the cached status."""
    consignment = Consignment.objects.select_for_update().get(pk=consignment.pk)
    for name, value in _clean_values(values).items():
        if name not in CONSIGNMENT_FIELDS:
            raise ValidationError({name: _("This field cannot be changed.")})
        setattr(consignment, name, value)
    consignment.full_clean(validate_unique=False, validate_constraints=False)
    _post_check(consignment=consignment)
    consignment.save()
    if declarations is not None:
        _links_replace(consignment=consignment, declarations=declarations)
    _status_refresh(consignment=consignment)
    return consignment
