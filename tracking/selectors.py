"""Reads about consignments and their timelines."""

from datetime import date

from django.db.models import Q, QuerySet

from sesame.access import of_post
from sesame.models import BorderControlPost, Company
from tracking.models import Consignment, Event
from tracking.timeline import Timeline, timeline_build


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
    search = search.strip().upper()
    if search:
        consignments = consignments.filter(
            Q(reference__iexact=search)
            | Q(container_numbers__contains=[search.replace(" ", "")])
            | Q(ched_references__contains=[search])
            | Q(declaration_links__mrn=search)
        ).distinct()
    return consignments


def consignments_for_company(*, company: Company) -> QuerySet[Consignment]:
    return Consignment.objects.filter(company=company).select_related("post")


def consignments_for_post(*, post: BorderControlPost) -> QuerySet[Consignment]:
    """What agents of a post see (read-only): consignments announced at their post; none for no
    post (sesame.access.of_post)."""
    return of_post(Consignment.objects.all(), post=post).select_related("post", "company")


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


def consignment_find(
    *,
    company_eori: str = "",
    reference: str = "",
    container_number: str = "",
    ched_reference: str = "",
) -> Consignment | None:
    """The consignment a partner event is about: by company EORI + consignment reference, else
    by container number or CHED reference when exactly one open consignment matches."""
    if company_eori and reference:
        return Consignment.objects.filter(company__eori=company_eori, reference=reference).first()
    if container_number:
        found = Consignment.objects.filter(container_numbers__contains=[container_number])
    elif ched_reference:
        found = Consignment.objects.filter(ched_references__contains=[ched_reference])
    else:
        return None
    matches = list(found.exclude(status="exited").order_by("-expected_arrival")[:2])
    return matches[0] if len(matches) == 1 else None
