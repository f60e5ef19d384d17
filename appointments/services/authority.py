"""The authority's side: check-in, completion, no-show, a missed slot, closures.

A missed slot follows the port of Marseille's good practice: the container goes first. The
appointment becomes `missed_by_authority` and a `priority` appointment is created at once at
the first slot of the next open day of the calendar after the missed slot's day, over capacity
(priority appointments hold no place). A closure declared over booked appointments treats each
of them the same way, reason `post_closed`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import schedule
from appointments.errors import Conflict, Invalid
from appointments.models import (
    Appointment,
    AppointmentStatus,
    Check,
    Closure,
    Result,
    Service,
    WaitlistEntry,
    WaitlistStatus,
)
from appointments.services import waitlist
from appointments.services.common import (
    changed,
    closures_between,
    customs_control_declaration,
    settings_of,
)
from sesame.models import BorderControlPost

POST_CLOSED = "post_closed"
SOURCE = "appointments"


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update()
        .select_related("calendar", "post", "consignment")
        .get(pk=appointment.pk)
    )


def _transition(current: Appointment, allowed: tuple[str, ...], status: str, by: str) -> None:
    if current.status not in allowed:
        raise Conflict("wrong_status")
    current.status = status
    current.sequence += 1
    current.acted_by = by[:200]


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, by: str = "") -> Appointment:
    """The container is presented: booked → checked_in (409 wrong_status otherwise)."""
    current = _locked(appointment)
    _transition(current, (AppointmentStatus.BOOKED,), AppointmentStatus.CHECKED_IN, by)
    current.save()
    changed(current, "checked_in")
    return current


def tracking_payload(appointment: Appointment, *, check: str, result: str, note: str) -> dict:
    """The payload of the check's tracking event (the dossier builds its inspection report
    from exactly these keys)."""
    paris = schedule.PARIS
    return {
        "result": result,
        "check": check,
        "appointment": str(appointment.pk),
        "service": appointment.service,
        "post": appointment.post.code,
        "start": appointment.start.astimezone(paris).isoformat(),
        "end": appointment.end.astimezone(paris).isoformat(),
        "note": note,
    }


@transaction.atomic
def appointment_complete(
    *,
    appointment: Appointment,
    check: str,
    result: str,
    note: str = "",
    by: str = "",
    user: Any = None,
) -> Appointment:
    """Record the check's outcome: booked or checked_in → completed, `result` set, and in the
    same transaction the tracking event (identity_check or physical_check, source
    `appointments`, id `appointment:<id>:complete`) on the consignment's timeline. For customs,
    the open control of the linked declaration is decided through gun's control service:
    compliant → justified, not compliant → unjustified. 400 for an unknown check or result."""
    from tracking.services import event_record

    if check not in Check.values:
        raise Invalid("invalid_choice", str(_("Check is identity or physical.")), field="check")
    if result not in Result.values:
        raise Invalid(
            "invalid_choice", str(_("Result is compliant or non_compliant.")), field="result"
        )
    note = (note or "")[:1000]
    current = _locked(appointment)
    _transition(
        current,
        (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
        AppointmentStatus.COMPLETED,
        by,
    )
    current.check_kind, current.result, current.result_note = check, result, note
    current.save()
    now = timezone.now()
    event_record(
        consignment=current.consignment,
        kind=f"{check}_check",
        occurred_at=now,
        source=SOURCE,
        source_event_id=f"appointment:{current.pk}:complete",
        author=by or current.service,
        payload=tracking_payload(current, check=check, result=result, note=note),
    )
    if current.service == Service.DOUANE:
        _control_decide(current, result=result, note=note, user=user)
    changed(current, "completed")
    waitlist.offer_free_places(calendar=current.calendar, day=current.start, now=now)
    return current


def _control_decide(appointment: Appointment, *, result: str, note: str, user: Any) -> None:
    from gun.services import control_decide

    declaration = customs_control_declaration(consignment=appointment.consignment)
    if declaration is None:
        return  # decided meanwhile in the GUN review pages: that decision stands
    decision = "justified" if result == Result.COMPLIANT else "unjustified"
    comment = f"Appointment #{appointment.pk}" + (f": {note}" if note else "")
    control_decide(declaration=declaration, decision=decision, comment=comment, agent=user)


@transaction.atomic
def appointment_no_show(*, appointment: Appointment, by: str = "") -> Appointment:
    """The container was not presented: booked → no_show (409 wrong_status otherwise); the
    place is offered to the day's waitlist."""
    current = _locked(appointment)
    _transition(current, (AppointmentStatus.BOOKED,), AppointmentStatus.NO_SHOW, by)
    current.save()
    changed(current, "no_show")
    waitlist.offer_free_places(calendar=current.calendar, day=current.start, now=timezone.now())
    return current


def _rebook(current: Appointment, *, reason: str, by: str) -> Appointment:
    """Mark `current` (locked) missed and create its priority appointment."""
    _transition(
        current,
        (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
        AppointmentStatus.MISSED,
        by,
    )
    current.reason = reason[:500]
    current.save()
    calendar = current.calendar
    day = current.start.astimezone(schedule.PARIS).date()
    horizon = datetime.combine(day, datetime.min.time(), tzinfo=schedule.PARIS)
    closures = closures_between(
        post_id=calendar.post_id,
        service=calendar.service,
        start=horizon,
        end=horizon + timedelta(days=367),
    )
    slot = schedule.first_open_slot_after(settings_of(calendar), day, closures)
    if slot is None:
        raise Conflict("not_a_slot", str(_("No open day within a year to rebook on.")))
    now = timezone.now()
    rebooked = Appointment.objects.create(
        consignment=current.consignment,
        calendar=calendar,
        post_id=current.post_id,
        service=current.service,
        start=slot.start,
        end=slot.end,
        priority=True,
        containers=current.containers,
        contact_phone=current.contact_phone,
        note=current.note,
        rebooked_from=current,
        booked_by=by[:200],
        acted_by=by[:200],
        scheduled_at=now,
    )
    changed(current, "missed", rebooked=rebooked, reason=current.reason)
    changed(rebooked, "rebooked", rebooked_from=current)
    waitlist.offer_free_places(calendar=calendar, day=current.start, now=now)
    return rebooked


@transaction.atomic
def appointment_miss(*, appointment: Appointment, reason: str = "", by: str = "") -> Appointment:
    """The authority did not come: booked or checked_in → missed_by_authority (409
    wrong_status otherwise), and a priority appointment at the first slot of the next open day,
    over capacity. Returns the missed appointment (its `rebooked_as` is the new one)."""
    current = _locked(appointment)
    _rebook(current, reason=reason, by=by)
    current.refresh_from_db()
    return current


def closure_declare(
    *,
    post: BorderControlPost,
    service: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    by: str = "",
) -> tuple[Closure, list[Appointment]]:
    """Close the post (one service, or all with service "") over [starts_at, ends_at). Each
    booked appointment whose slot overlaps it is missed with reason `post_closed` and rebooked
    with priority after the closure; offers held inside it go back to waiting. One transaction;
    returns the closure and the new priority appointments."""
    if service and service not in Service.values:
        raise Invalid("invalid_choice", str(_("Unknown service.")), field="service")
    if ends_at <= starts_at:
        raise Invalid("invalid", str(_("The closure must end after it starts.")), field="ends_at")
    if not reason.strip():
        raise Invalid("required", str(_("Give a reason.")), field="reason")
    with transaction.atomic():
        closure = Closure.objects.create(
            post=post,
            service=service,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip()[:200],
            created_by=by[:200],
        )
        inside = (
            Appointment.objects.select_for_update()
            .select_related("calendar", "post", "consignment")
            .filter(
                post=post,
                status=AppointmentStatus.BOOKED,
                start__lt=ends_at,
                end__gt=starts_at,
            )
            .order_by("id")
        )
        if service:
            inside = inside.filter(service=service)
        rebooked = [_rebook(current, reason=POST_CLOSED, by=by) for current in inside]
        held = (
            WaitlistEntry.objects.select_for_update()
            .select_related("calendar")
            .filter(calendar__post=post, status=WaitlistStatus.OFFERED, offer_start__lt=ends_at)
        )
        if service:
            held = held.filter(service=service)
        for entry in held:
            assert entry.offer_start is not None
            length = timedelta(minutes=entry.calendar.slot_minutes)
            if entry.offer_start + length > starts_at:
                entry.status = WaitlistStatus.WAITING
                entry.offer_start = entry.offer_expires_at = None
                entry.save(update_fields=["status", "offer_start", "offer_expires_at"])
    return closure, rebooked
