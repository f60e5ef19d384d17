"""What the appointment use cases share: the calendar's settings and closures, preconditions,
the slot locks, the mapping of database refusals, and the change signal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection
from django.db.models import Q

from appointments import schedule
from appointments.errors import AppointmentError, Conflict, Refused
from appointments.models import Appointment, Calendar, Closure, Service, Slot
from appointments.signals import appointment_changed
from tracking.models import Consignment

SIVEP_CATEGORIES = frozenset({"live_animals", "animal_products", "plants", "food_non_animal"})
DGCCRF_CATEGORIES = frozenset({"fl_marketing", "organic"})


def settings_of(calendar: Calendar) -> schedule.Settings:
    return schedule.Settings(
        hours=calendar.hours,
        slot_minutes=calendar.slot_minutes,
        capacity=calendar.capacity,
        notice_hours=calendar.notice_hours,
        horizon_days=calendar.horizon_days,
    )


def closures_between(
    *, post_id: int, service: str, start: datetime, end: datetime
) -> list[schedule.Period]:
    """Closures of the post for this service (or all services) overlapping [start, end)."""
    rows = Closure.objects.filter(
        Q(service=service) | Q(service=""),
        post_id=post_id,
        starts_at__lt=end,
        ends_at__gt=start,
    ).values_list("starts_at", "ends_at")
    return [schedule.Period(a, b) for a, b in rows]


def day_bounds(day: Any) -> tuple[datetime, datetime]:
    """[local midnight of `day`, local midnight after it): 23, 24 or 25 hours."""
    begin = datetime.combine(day, datetime.min.time(), tzinfo=schedule.PARIS)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=schedule.PARIS)
    return begin, end


def calendar_for_booking(
    *, post_id: int | None, service: str, start: datetime, consignment_id: int
) -> tuple[Calendar, int, bool, bool]:
    """What a booking reads before it writes, in one query (appointments.queries): the
    calendar of (post, service), the places taken in the slot at `start`, whether a closure may
    touch that slot, whether the consignment already has an active appointment for the
    service. 422 no_post / not_a_slot when there is no calendar."""
    from appointments.queries import booking_read

    if post_id is None:
        raise Refused("no_post")
    read = booking_read(
        post_id=post_id, service=service, start=start, consignment_id=consignment_id
    )
    if read is None:
        raise Refused("not_a_slot")
    return read.calendar, read.taken, read.may_be_closed, read.active


def calendar_for(*, post_id: int | None, service: str) -> Calendar:
    """The calendar of (post, service); 422 no_post / not_a_slot when there is none."""
    if post_id is None:
        raise Refused("no_post")
    calendar = Calendar.objects.filter(post_id=post_id, service=service).first()
    if calendar is None:
        raise Refused("not_a_slot")
    return calendar


def precondition_check(*, consignment: Consignment, service: str) -> None:
    """APPOINTMENTS.md §2: SIVEP needs a CHED and a SIVEP category; DGCCRF fruit and
    vegetables or organic; customs a linked declaration under an open control (read from gun).
    Raises Refused with the contract's code."""
    categories = set(consignment.categories or [])
    if service == Service.SIVEP:
        if not consignment.ched_references or not categories & SIVEP_CATEGORIES:
            raise Refused("ched_missing")
    elif service == Service.DGCCRF:
        if not categories & DGCCRF_CATEGORIES:
            raise Refused("not_applicable")
    elif service == Service.DOUANE:
        if customs_control_declaration(consignment=consignment) is None:
            raise Refused("no_customs_control")
    else:
        raise Refused("not_applicable", field="service")


def customs_control_declaration(*, consignment: Consignment) -> Any:
    """The linked declaration whose customs control is open (gun's selector), or None."""
    from gun.selectors import declarations_awaiting_control

    links = list(
        consignment.declaration_links.values_list("declaration_id", "mrn", "client_reference")
    )
    if not links:
        return None
    return declarations_awaiting_control(
        company=consignment.company_id,
        ids=[link[0] for link in links if link[0]],
        mrns=[link[1] for link in links if link[1]],
        client_references=[link[2] for link in links if link[2]],
    ).first()


def lock_timeout() -> None:
    """A slot row another transaction holds longer than APPOINTMENTS_LOCK_TIMEOUT_MS makes
    this one give up (409 busy) rather than hang."""
    milliseconds = int(getattr(settings, "APPOINTMENTS_LOCK_TIMEOUT_MS", 5000))
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])


def slots_lock(*, calendar_id: int, starts: list[datetime]) -> None:
    """Create the slot rows that do not exist yet, then lock them in time order: a change
    that leaves one slot for another takes both locks in the same order as every other one,
    so two opposite moves wait for each other instead of deadlocking."""
    ordered = sorted(set(starts))
    Slot.objects.bulk_create(
        [Slot(calendar_id=calendar_id, start=start) for start in ordered], ignore_conflicts=True
    )
    list(
        Slot.objects.select_for_update()
        .filter(calendar_id=calendar_id, start__in=ordered)
        .order_by("start")
        .values_list("pk", flat=True)
    )


CONSTRAINT_CODES = {
    "appointment_slot_capacity": "slot_full",
    "appointment_one_active_per_consignment_service": "already_booked",
    "waitlist_one_active_per_day": "already_waiting",
}


def refusal_from(exc: IntegrityError | OperationalError) -> AppointmentError | None:
    """The refusal a database error stands for: a full slot, a second active appointment or
    waiting entry, a lock wait that timed out or a deadlock (busy); None otherwise."""
    cause: Any = exc.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    if name in CONSTRAINT_CODES:
        return Conflict(CONSTRAINT_CODES[name])
    if getattr(cause, "pgcode", "") in ("55P03", "40P01"):
        return Conflict("busy")
    return None


def changed(appointment: Appointment | None, action: str, **extra: Any) -> None:
    """Tell listeners (notifications, webhooks) inside the transaction of the change."""
    appointment_changed.send(sender=Appointment, appointment=appointment, action=action, **extra)


def taken_in(*, calendar_id: int, starts: list[datetime]) -> dict[datetime, int]:
    return dict(
        Slot.objects.filter(calendar_id=calendar_id, start__in=starts).values_list("start", "taken")
    )
