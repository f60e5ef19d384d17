"""Reads about consignments and their timelines."""

from datetime import date, datetime
from typing import Any

from django.db.models import F, Func, Max, QuerySet, TextField

from sesame.access import of_post
from sesame.models import BorderControlPost, Company
from sesame.search import SearchText, search_filter, search_variants
from tracking.models import Consignment, DeclarationLink, Event
from tracking.timeline import Timeline, timeline_build


def _array_text(field: str) -> Func:
    # migration 0002: sesame_array_text() is array_to_string(…, ' ') declared IMMUTABLE.
    return Func(F(field), function="sesame_array_text", output_field=TextField())


# Indexed as they are here by migration 0002 (tracking_*_search_trgm): keep them identical.
CONSIGNMENT_SEARCH_TEXT = SearchText(
    F("reference"),
    F("transport_document_number"),
    _array_text("container_numbers"),
    _array_text("ched_references"),
)
LINK_SEARCH_TEXT = SearchText(F("mrn"), F("client_reference"))


def consignments_search(consignments: QuerySet[Consignment], text: str) -> QuerySet[Consignment]:
    """Consignments whose reference, BL, containers or CHEDs, or whose linked declarations' MRN
    or client reference, contain ``text`` (case-insensitive), each through its trigram index."""
    if not search_variants(text):
        return consignments
    own = search_filter(Consignment.objects.all(), CONSIGNMENT_SEARCH_TEXT, text)
    linked = search_filter(DeclarationLink.objects.all(), LINK_SEARCH_TEXT, text)
    return consignments.filter(
        pk__in=own.order_by().values("pk").union(linked.order_by().values("consignment_id"))
    )


def consignments_filter(
    consignments: QuerySet[Consignment],
    *,
    status: str = "",
    port: str = "",
    arrival_from: date | None = None,
    arrival_to: date | None = None,
    search: str = "",
) -> QuerySet[Consignment]:
    """Filters shared by the API, the pages and the CSV export."""
    if status:
        consignments = consignments.filter(status=status)
    if port:
        consignments = consignments.filter(port=port)
    if arrival_from:
        consignments = consignments.filter(expected_arrival__date__gte=arrival_from)
    if arrival_to:
        consignments = consignments.filter(expected_arrival__date__lte=arrival_to)
    return consignments_search(consignments, search)


def consignments_for_company(*, company: Company) -> QuerySet[Consignment]:
    return Consignment.objects.filter(company=company).select_related("post")


def consignments_for_post(*, post: BorderControlPost) -> QuerySet[Consignment]:
    """What agents of a post see (read-only): consignments announced at their post; none for no
    post (sesame.access.of_post)."""
    return of_post(Consignment.objects.all(), post=post).select_related("post", "company")


def consignment_state_locked(*, company: Company, pk: Any) -> tuple[datetime, int] | None:
    """(updated_at, id of its last event or 0) of the company's consignment, its row locked FOR
    UPDATE until the transaction ends (the API's If-Match); None when it is not the company's."""
    updated_at = (
        Consignment.objects.select_for_update()
        .filter(company=company, pk=pk)
        .values_list("updated_at", flat=True)
        .first()
    )
    if updated_at is None:
        return None
    last = Event.objects.filter(consignment_id=pk).aggregate(last=Max("id"))["last"]
    return updated_at, last or 0


def consignment_events(*, consignment: Consignment) -> list[Event]:
    return list(Event.objects.filter(consignment=consignment).order_by("occurred_at", "id"))


def consignment_timeline(*, consignment: Consignment) -> Timeline:
    """The timeline derived from the events (tracking.timeline)."""
    return timeline_build(
        events=consignment_events(consignment=consignment),
        categories=consignment.categories,
        expected_arrival=consignment.expected_arrival,
    )


def consignment_last_event_id(*, consignment: Consignment) -> int:
    last = Event.objects.filter(consignment=consignment).order_by("-id").values("id").first()
    return last["id"] if last else 0


class ConsignmentUnknown(Exception):
    """No consignment matches what the partner named."""


class ConsignmentAmbiguous(Exception):
    """Several active consignments match what the partner named (which ones is not said)."""


def consignment_named_by_partner(
    *,
    company_eori: str = "",
    reference: str = "",
    container_number: str = "",
    transport_document_number: str = "",
    ched_reference: str = "",
) -> Consignment:
    """The one consignment a partner system names, or ``ConsignmentUnknown`` /
    ``ConsignmentAmbiguous``.

    The partner names it by any of: company EORI + consignment reference; a container number,
    alone or with the transport document (BL, AWB) number; a CHED reference. Every criterion
    given must hold (so a container with the wrong BL matches nothing). EORI + reference is
    unique and names the consignment whatever its status; otherwise only active consignments
    (not exited) count, and exactly one must match: two companies that registered the same
    container (or CHED) make the container (or CHED) alone ambiguous, and the partner must add
    the transport document or use the EORI + reference. Neither error says which consignments
    matched, so nothing of another company's consignments is revealed. Used by partner events
    and partner files alike.
    """
    found = Consignment.objects.all()
    if company_eori or reference:
        if not (company_eori and reference):
            raise ConsignmentUnknown
        found = found.filter(company__eori=company_eori, reference=reference)
    elif not (container_number or ched_reference):
        raise ConsignmentUnknown
    else:
        found = found.exclude(status="exited")
    if container_number:
        found = found.filter(container_numbers__contains=[container_number])
    if transport_document_number:
        found = found.filter(transport_document_number=transport_document_number)
    if ched_reference:
        found = found.filter(ched_references__contains=[ched_reference])
    matches = list(found.select_related("company").order_by("pk")[:2])
    if not matches:
        raise ConsignmentUnknown
    if len(matches) > 1:
        raise ConsignmentAmbiguous
    return matches[0]
