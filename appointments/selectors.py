"""Reads: who sees which appointment (a company its own, an authority its service's, an agent
its post's), availability, agendas, waitlists, feeds. Every scope check is here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from appointments import schedule
from appointments.models import (
    Appointment,
    Calendar,
    Closure,
    FeedToken,
    Service,
    Slot,
    WaitlistEntry,
)
from appointments.services.common import closures_between, day_bounds, settings_of
from appointments.services.feeds import token_hash

# Partner keys that act as the inspecting authority of a service (APPOINTMENTS.md §3).
AUTHORITY_SERVICES = {"SIVEP": Service.SIVEP, "DGCCRF": Service.DGCCRF, "DELTA": Service.DOUANE}
# An agent's service (sesame.AgentService) as an appointment service.
AGENT_SERVICES = {"sivep": Service.SIVEP, "dgccrf": Service.DGCCRF, "customs": Service.DOUANE}
MAX_RANGE_DAYS = 31


def _details(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return queryset.select_related("post", "consignment", "rebooked_as")


def appointments_for_company(*, company: Any) -> QuerySet[Appointment]:
    return _details(Appointment.objects.filter(consignment__company=company)).order_by(
        "start", "id"
    )


def appointments_for_authority(*, partner: str) -> QuerySet[Appointment]:
    return _details(Appointment.objects.filter(service=AUTHORITY_SERVICES[partner])).order_by(
        "start", "id"
    )


def appointments_for_agent(*, agent: Any) -> QuerySet[Appointment]:
    """What an agent sees: every appointment of the agent's post (all services)."""
    return _details(Appointment.objects.filter(post_id=agent.post_id)).select_related(
        "consignment__company"
    )


def appointment_for_agent_action(*, agent: Any, pk: int) -> Appointment | None:
    """An appointment an agent may act on: the agent's post and service; None otherwise (404)."""
    return (
        appointments_for_agent(agent=agent)
        .filter(pk=pk, service=AGENT_SERVICES.get(agent.service, ""))
        .first()
    )


def appointments_filter(
    appointments: QuerySet[Appointment],
    *,
    consignment: int | None = None,
    service: str = "",
    status: str = "",
    start_from: date | None = None,
    start_to: date | None = None,
    search: str = "",
) -> QuerySet[Appointment]:
    """Filters shared by the API, the pages and the CSV export."""
    if consignment:
        appointments = appointments.filter(consignment_id=consignment)
    if service:
        appointments = appointments.filter(service=service)
    if status:
        appointments = appointments.filter(status=status)
    if start_from:
        begin, _end = day_bounds(start_from)
        appointments = appointments.filter(start__gte=begin)
    if start_to:
        next_day, _ = day_bounds(start_to + timedelta(days=1))
        appointments = appointments.filter(start__lt=next_day)
    search = search.strip().upper()
    if search:
        appointments = appointments.filter(
            Q(consignment__reference__iexact=search) | Q(containers__contains=[search])
        )
    return appointments


@dataclass(frozen=True)
class Availability:
    start: datetime
    end: datetime
    capacity: int
    free: int


def calendar_by_code(*, post: str, service: str) -> Calendar | None:
    """The calendar of a post named by its code, with the post: one query."""
    return Calendar.objects.select_related("post").filter(post__code=post, service=service).first()


def calendar_get(*, post: Any, service: str) -> Calendar | None:
    return Calendar.objects.select_related("post").filter(post=post, service=service).first()


def availability(
    *, calendar: Calendar, first: date, last: date, now: datetime | None = None
) -> list[Availability]:
    """Every slot of first..last (local dates, inclusive) bookable now, in time order, with
    its free places (0 when full). Three queries whatever the number of appointments: the
    calendar (given), its closures over the range, the slot counters over the range."""
    now = now or timezone.now()
    begin, _ = day_bounds(first)
    _, end = day_bounds(last)
    closures = closures_between(
        post_id=calendar.post_id, service=calendar.service, start=begin, end=end
    )
    slots = schedule.bookable_slots(settings_of(calendar), first, last, closures, now)
    taken = dict(
        Slot.objects.filter(calendar=calendar, start__gte=begin, start__lt=end).values_list(
            "start", "taken"
        )
    )
    return [
        Availability(
            slot.start,
            slot.end,
            calendar.capacity,
            max(calendar.capacity - taken.get(slot.start, 0), 0),
        )
        for slot in slots
    ]


def agenda(*, post: Any, day: date, service: str = "") -> QuerySet[Appointment]:
    """The post's appointments of a local day (all statuses), in time order."""
    begin, end = day_bounds(day)
    queryset = Appointment.objects.filter(
        post=post, start__gte=begin, start__lt=end
    ).select_related("consignment__company", "rebooked_as", "post")
    if service:
        queryset = queryset.filter(service=service)
    return queryset.order_by("start", "priority", "id")


def closures_of_post(*, post: Any) -> QuerySet[Closure]:
    return Closure.objects.filter(post=post, ends_at__gt=timezone.now()).order_by("starts_at")


def waitlist_for_company(*, company: Any) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(consignment__company=company).select_related(
        "consignment", "calendar__post"
    )


def waitlist_for_authority(*, partner: str) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(service=AUTHORITY_SERVICES[partner]).select_related(
        "consignment", "calendar__post"
    )


def waitlist_of_day(*, post: Any, service: str, day: date) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(calendar__post=post, service=service, date=day)
        .select_related("consignment__company")
        .order_by("created_at", "id")
    )


def feed_token_find(*, token: str) -> FeedToken | None:
    """The live subscription token with this clear value, or None."""
    if not token or len(token) > 100:
        return None
    return (
        FeedToken.objects.select_related("user", "company", "post")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )


FEED_PAST_DAYS = 30


def feed_appointments(*, feed: FeedToken) -> QuerySet[Appointment]:
    """A feed's appointments: the company's (operators) or the post's (agents), from
    FEED_PAST_DAYS ago on; one query."""
    since = timezone.now() - timedelta(days=FEED_PAST_DAYS)
    queryset = Appointment.objects.filter(start__gte=since).select_related("post", "consignment")
    if feed.company_id:
        queryset = queryset.filter(consignment__company_id=feed.company_id)
    else:
        queryset = queryset.filter(post_id=feed.post_id)
    return queryset.order_by("start", "id")[:2000]
