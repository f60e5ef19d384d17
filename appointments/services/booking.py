"""Booking, moving and cancelling an appointment (the company's side)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import schedule
from appointments.errors import Conflict, Invalid, Refused
from appointments.models import Appointment, AppointmentStatus, Calendar, Service
from appointments.services import waitlist
from appointments.services.common import (
    calendar_for_booking,
    changed,
    closures_between,
    lock_timeout,
    precondition_check,
    refusal_from,
    settings_of,
    slots_lock,
)
from sesame.identifiers import E164, PHONE_FORMAT
from tracking.models import Consignment


def _containers(consignment: Consignment, containers: list[str] | None) -> list[str]:
    if containers is None or containers == []:
        return list(consignment.container_numbers)
    known = set(consignment.container_numbers)
    unknown = [c for c in containers if c not in known]
    if unknown:
        raise Invalid(
            "invalid",
            _("Not a container of the consignment: %(containers)s.")
            % {"containers": ", ".join(unknown)},
            field="containers",
        )
    return list(dict.fromkeys(containers))


ONE_DAY = timedelta(days=1)


def validate_phone(phone: str) -> str:
    phone = (phone or "").strip().replace(" ", "")
    if phone and not re.fullmatch(E164, phone):
        raise Invalid("invalid", str(PHONE_FORMAT), field="contact_phone")
    return phone


def slot_check(
    *, calendar: Calendar, start: datetime, now: datetime, may_be_closed: bool = True
) -> schedule.SlotTime:
    """The slot starting at `start` if it can be booked now; else Refused (not_a_slot,
    too_late, too_far). Closures are read unless the caller knows none touches the slot."""
    closures = (
        closures_between(
            post_id=calendar.post_id,
            service=calendar.service,
            start=start - ONE_DAY,
            end=start + ONE_DAY,
        )
        if may_be_closed
        else []
    )
    code, slot = schedule.slot_refusal(settings_of(calendar), start, closures, now)
    if code:
        raise Refused(code, field="start")
    assert slot is not None
    return slot


def appointment_book(
    *,
    consignment: Consignment,
    service: str,
    start: datetime,
    containers: list[str] | None = None,
    contact_phone: str = "",
    note: str = "",
    by: str = "",
) -> Appointment:
    """Book the slot starting at `start` for the consignment at its post.

    Refusals, in this order: 400 (unknown service, a container not of the consignment, a bad
    phone), 422 precondition (ched_missing, not_applicable, no_customs_control) or no_post,
    422 not_a_slot / too_late / too_far, 409 already_booked, 409 slot_full. Capacity is
    enforced by PostgreSQL (the trigger on the insert takes the slot row's lock); the read of
    the slot's count before it only answers early. One transaction; `booked` is signalled in it.
    """
    if service not in Service.values:
        raise Invalid("invalid_choice", str(_("Unknown service.")), field="service")
    chosen = _containers(consignment, containers)
    phone = validate_phone(contact_phone)
    precondition_check(consignment=consignment, service=service)
    calendar, taken, may_be_closed, active = calendar_for_booking(
        post_id=consignment.post_id, service=service, start=start, consignment_id=consignment.pk
    )
    now = timezone.now()
    slot = slot_check(calendar=calendar, start=start, now=now, may_be_closed=may_be_closed)
    if active:
        raise Conflict("already_booked")
    if taken >= calendar.capacity:
        raise Conflict("slot_full")  # early answer; the trigger below is what guarantees it
    try:
        with transaction.atomic():
            lock_timeout()
            appointment = Appointment.objects.create(
                consignment=consignment,
                calendar=calendar,
                post_id=calendar.post_id,
                service=service,
                start=slot.start,
                end=slot.end,
                containers=chosen,
                contact_phone=phone,
                note=note[:1000],
                booked_by=by[:200],
                acted_by=by[:200],
                scheduled_at=now,
            )
            changed(appointment, "booked")
    except (IntegrityError, OperationalError) as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from None
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().select_related("calendar").get(pk=appointment.pk)


def appointment_reschedule(
    *, appointment: Appointment, start: datetime, by: str = ""
) -> Appointment:
    """Move a booked appointment to the slot starting at `start`: same id, new start and end,
    `sequence` + 1, reminders due again. The same refusals as booking (409 wrong_status unless
    booked); on any refusal nothing changes. Both slot rows are locked in time order before the
    move, so opposite moves never deadlock; the freed place is offered to the day's waitlist."""
    try:
        with transaction.atomic():
            lock_timeout()
            current = _locked(appointment)
            if current.status != AppointmentStatus.BOOKED:
                raise Conflict("wrong_status")
            precondition_check(consignment=current.consignment, service=current.service)
            now = timezone.now()
            slot = slot_check(calendar=current.calendar, start=start, now=now)
            if slot.start == current.start:
                return current
            previous = current.start
            slots_lock(calendar_id=current.calendar_id, starts=[previous, slot.start])
            current.start, current.end = slot.start, slot.end
            current.sequence += 1
            current.scheduled_at = now
            current.reminded_day_before_at = current.reminded_two_hours_at = None
            current.acted_by = by[:200]
            current.save()
            changed(current, "rescheduled", previous_start=previous)
            waitlist.offer_free_places(calendar=current.calendar, day=previous, now=now)
    except (IntegrityError, OperationalError) as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from None
    return current


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, reason: str = "", by: str = "") -> Appointment:
    """Cancel a booked appointment before its slot starts (409 wrong_status unless booked,
    409 too_late once started): `sequence` + 1 (the .ics becomes METHOD:CANCEL); the freed
    place is offered to the day's waitlist."""
    current = _locked(appointment)
    if current.status != AppointmentStatus.BOOKED:
        raise Conflict("wrong_status")
    now = timezone.now()
    if current.start <= now:
        raise Conflict("too_late")
    current.status = AppointmentStatus.CANCELLED
    current.reason = reason[:500]
    current.sequence += 1
    current.acted_by = by[:200]
    current.save()
    changed(current, "cancelled")
    waitlist.offer_free_places(calendar=current.calendar, day=current.start, now=now)
    return current
