"""The waitlist (APPOINTMENTS.md §2): a company waits for a day; when a slot of that day frees
and is bookable, the oldest waiting entry gets an offer that holds the slot (it counts against
capacity, through the same database trigger as appointments) for OFFER_MINUTES.

Choices where the rule book is silent:
- offers are made in the transaction that frees the place (cancel, reschedule away, no-show,
  completion, miss), and by the sweep (every minute: expired offers passed on, places freed by
  a calendar change offered);
- an entry whose consignment has a checked-in appointment for the service is skipped;
- accepting books the offered slot; when the consignment already has a booked appointment for
  the service, that appointment is moved there instead (same id, sequence + 1), so a company
  may keep a later slot while it waits for an earlier day;
- the offer is honoured at acceptance even if the notice has passed meanwhile.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from appointments import schedule
from appointments.errors import Conflict, Invalid, Refused
from appointments.models import (
    Appointment,
    AppointmentStatus,
    Calendar,
    Service,
    WaitlistEntry,
    WaitlistStatus,
)
from appointments.services.common import (
    calendar_for,
    changed,
    closures_between,
    day_bounds,
    precondition_check,
    refusal_from,
    settings_of,
    slots_lock,
    taken_in,
)
from tracking.models import Consignment

OFFER_MINUTES = 30


def _local_day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return value.astimezone(schedule.PARIS).date()
    return value


def free_bookable_slots(
    *, calendar: Calendar, day: date, now: datetime
) -> list[tuple[schedule.SlotTime, int]]:
    """The day's bookable slots with their free places (> 0), in time order."""
    begin, end = day_bounds(day)
    closures = closures_between(
        post_id=calendar.post_id, service=calendar.service, start=begin, end=end
    )
    slots = schedule.bookable_slots(settings_of(calendar), day, day, closures, now)
    if not slots:
        return []
    taken = taken_in(calendar_id=calendar.pk, starts=[s.start for s in slots])
    free = [(slot, calendar.capacity - taken.get(slot.start, 0)) for slot in slots]
    return [(slot, places) for slot, places in free if places > 0]


def offer_free_places(*, calendar: Calendar, day: date | datetime, now: datetime) -> list[int]:
    """Offer the day's free bookable places to its waiting entries, oldest first, inside the
    caller's transaction. Each offer is taken with a savepoint: a place another transaction
    took meanwhile (the trigger refuses it) is skipped. Returns the ids of the entries offered."""
    day = _local_day(day)
    offered: list[int] = []
    waiting = list(
        WaitlistEntry.objects.select_for_update(skip_locked=True)
        .filter(calendar=calendar, date=day, status=WaitlistStatus.WAITING)
        .order_by("created_at", "id")[:50]
    )
    if not waiting:
        return offered
    free = free_bookable_slots(calendar=calendar, day=day, now=now)
    places = [slot for slot, count in free for _ in range(count)]
    busy = set(
        Appointment.objects.filter(
            consignment_id__in=[e.consignment_id for e in waiting],
            service=calendar.service,
            status=AppointmentStatus.CHECKED_IN,
        ).values_list("consignment_id", flat=True)
    )
    for entry in waiting:
        if not places:
            break
        if entry.consignment_id in busy:
            continue
        slot = places[0]
        try:
            with transaction.atomic():
                updated = WaitlistEntry.objects.filter(
                    pk=entry.pk, status=WaitlistStatus.WAITING
                ).update(
                    status=WaitlistStatus.OFFERED,
                    offer_start=slot.start,
                    offer_expires_at=now + timedelta(minutes=OFFER_MINUTES),
                    updated_at=now,
                )
                if updated:
                    entry.refresh_from_db()
                    changed(None, "waitlist_offered", waitlist_entry=entry)
                    offered.append(entry.pk)
        except IntegrityError:
            pass  # taken meanwhile by someone else: try the next place
        places.pop(0)
    return offered


def waitlist_join(
    *, consignment: Consignment, service: str, day: date, by: str = ""
) -> WaitlistEntry:
    """Wait for a place on `day` (local date). The same preconditions as booking; 422
    too_late for a past day, too_far beyond the horizon, not_a_slot for a day without any open
    slot; 409 already_waiting for a second active entry. A free place that day is offered at
    once."""
    if service not in Service.values:
        raise Invalid("invalid_choice", "Unknown service.", field="service")
    precondition_check(consignment=consignment, service=service)
    calendar = calendar_for(post_id=consignment.post_id, service=service)
    now = timezone.now()
    settings = settings_of(calendar)
    if day < now.astimezone(schedule.PARIS).date():
        raise Refused("too_late", field="date")
    if schedule.horizon_end(settings, now).date() <= day:
        raise Refused("too_far", field="date")
    begin, end = day_bounds(day)
    closures = closures_between(post_id=calendar.post_id, service=service, start=begin, end=end)
    if not list(schedule.open_slots(settings, day, day, closures)):
        raise Refused("not_a_slot", field="date")
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                consignment=consignment,
                calendar=calendar,
                service=service,
                date=day,
                created_by=by[:200],
            )
            offer_free_places(calendar=calendar, day=day, now=now)
    except IntegrityError as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from None
    entry.refresh_from_db()
    return entry


def _locked(entry: WaitlistEntry) -> WaitlistEntry:
    return (
        WaitlistEntry.objects.select_for_update()
        .select_related("calendar", "consignment")
        .get(pk=entry.pk)
    )


def waitlist_accept(*, entry: WaitlistEntry, by: str = "") -> Appointment:
    """Book the offered slot: the hold becomes the appointment in one transaction (the slot
    row stays locked between the two, so nobody takes the place meanwhile). 409 offer_expired
    once `offer_expires_at` has passed, wrong_status unless offered."""
    from appointments.services.booking import _containers

    try:
        with transaction.atomic():
            current = _locked(entry)
            now = timezone.now()
            if current.status == WaitlistStatus.EXPIRED or (
                current.status == WaitlistStatus.OFFERED
                and current.offer_expires_at is not None
                and current.offer_expires_at <= now
            ):
                raise Conflict("offer_expired")
            if current.status != WaitlistStatus.OFFERED:
                raise Conflict("wrong_status")
            calendar = current.calendar
            start = current.offer_start
            assert start is not None
            slot = next(
                (
                    s
                    for s in schedule.day_slots(settings_of(calendar), _local_day(start))
                    if s.start == start
                ),
                schedule.SlotTime(start, start + timedelta(minutes=calendar.slot_minutes)),
            )
            existing = (
                Appointment.objects.select_for_update()
                .filter(
                    consignment=current.consignment,
                    service=current.service,
                    status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN],
                )
                .first()
            )
            if existing is not None and existing.status != AppointmentStatus.BOOKED:
                raise Conflict("already_booked")
            starts = [start] + ([existing.start] if existing is not None else [])
            slots_lock(calendar_id=calendar.pk, starts=starts)
            current.status = WaitlistStatus.FULFILLED
            current.save(update_fields=["status", "updated_at"])
            if existing is not None:
                previous = existing.start
                existing.start, existing.end = slot.start, slot.end
                existing.sequence += 1
                existing.scheduled_at = now
                existing.reminded_day_before_at = existing.reminded_two_hours_at = None
                existing.acted_by = by[:200]
                existing.save()
                appointment = existing
                changed(appointment, "rescheduled", previous_start=previous)
                offer_free_places(calendar=calendar, day=previous, now=now)
            else:
                consignment = current.consignment
                appointment = Appointment.objects.create(
                    consignment=consignment,
                    calendar=calendar,
                    post_id=calendar.post_id,
                    service=current.service,
                    start=slot.start,
                    end=slot.end,
                    containers=_containers(consignment, None),
                    booked_by=by[:200],
                    acted_by=by[:200],
                    scheduled_at=now,
                )
                changed(appointment, "booked")
            current.appointment = appointment
            current.save(update_fields=["appointment", "updated_at"])
    except (IntegrityError, OperationalError) as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from None
    return appointment


@transaction.atomic
def waitlist_cancel(*, entry: WaitlistEntry, by: str = "") -> WaitlistEntry:
    """Stop waiting (waiting or offered; 409 wrong_status otherwise); a held place is
    released and offered to the next entry."""
    current = _locked(entry)
    if current.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
        raise Conflict("wrong_status")
    held = current.status == WaitlistStatus.OFFERED
    current.status = WaitlistStatus.CANCELLED
    current.save(update_fields=["status", "updated_at"])
    if held:
        offer_free_places(calendar=current.calendar, day=current.date, now=timezone.now())
    return current


def waitlist_sweep(*, now: datetime | None = None) -> dict[str, Any]:
    """The periodic pass (Celery beat, every minute): offers whose time is up become
    `expired` and their place goes to the next entry; free places of days with waiting entries
    are offered. One transaction per day touched. Returns what it did."""
    now = now or timezone.now()
    expired = 0
    days: set[tuple[int, date]] = set()
    for entry_id in list(
        WaitlistEntry.objects.filter(
            status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
        ).values_list("pk", flat=True)[:500]
    ):
        with transaction.atomic():
            entry = (
                WaitlistEntry.objects.select_for_update(skip_locked=True)
                .filter(pk=entry_id, status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)
                .select_related("calendar")
                .first()
            )
            if entry is None:
                continue
            entry.status = WaitlistStatus.EXPIRED
            entry.save(update_fields=["status", "updated_at"])
            expired += 1
            offer_free_places(calendar=entry.calendar, day=entry.date, now=now)
    today = now.astimezone(schedule.PARIS).date()
    for calendar_id, day in (
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, date__gte=today)
        .values_list("calendar_id", "date")
        .distinct()[:500]
    ):
        days.add((calendar_id, day))
    offered = 0
    calendars = {c.pk: c for c in Calendar.objects.filter(pk__in={c for c, _ in days})}
    for calendar_id, day in sorted(days):
        with transaction.atomic():
            offered += len(offer_free_places(calendar=calendars[calendar_id], day=day, now=now))
    stale = WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, date__lt=today).update(
        status=WaitlistStatus.EXPIRED, updated_at=now
    )
    return {"expired": expired + stale, "offered": offered}
