"""Reminders: the day before at 16:00 (local) and two hours before (APPOINTMENTS.md §2).

Celery beat runs `reminders_send` every few minutes; what was sent is on the appointment
(`reminded_day_before_at`, `reminded_two_hours_at`, set by a conditional update in the
transaction that signals the reminder), so a run repeated, late, or after a beat or worker
restart never sends one twice, and one that was due while nothing ran is sent at the next run.

Choices where the rule book is silent: a reminder due before the current time was chosen
(booking, reschedule, rebooking) is not sent (the confirmation just gave the time); when both
are due (nothing ran for a while), only the two-hour one is sent; a rescheduled appointment is
reminded again for its new time.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from appointments import schedule
from appointments.models import Appointment, AppointmentStatus
from appointments.services.common import changed

DAY_BEFORE = "day_before"
TWO_HOURS = "two_hours"
DAY_BEFORE_AT = time(16, 0)


def reminder_due(start: datetime) -> dict[str, datetime]:
    local = start.astimezone(schedule.PARIS)
    day_before = datetime.combine(
        local.date() - timedelta(days=1), DAY_BEFORE_AT, tzinfo=schedule.PARIS
    )
    return {DAY_BEFORE: day_before, TWO_HOURS: start - timedelta(hours=2)}


def _remind(pk: int, now: datetime) -> str:
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(skip_locked=True)
            .select_related("post", "consignment")
            .filter(pk=pk, status=AppointmentStatus.BOOKED, start__gt=now)
            .first()
        )
        if appointment is None:
            return ""
        due = reminder_due(appointment.start)
        if appointment.reminded_two_hours_at is None and now >= due[TWO_HOURS]:
            kind = TWO_HOURS
            fields = {"reminded_two_hours_at": now}
            if appointment.reminded_day_before_at is None:
                fields["reminded_day_before_at"] = now  # skipped: the later one is enough
        elif appointment.reminded_day_before_at is None and now >= due[DAY_BEFORE]:
            kind = DAY_BEFORE
            fields = {"reminded_day_before_at": now}
        else:
            return ""
        Appointment.objects.filter(pk=pk).update(**fields)
        for name, value in fields.items():
            setattr(appointment, name, value)
        if appointment.scheduled_at >= due[kind]:
            return ""  # chosen after the reminder was due: not sent
        changed(appointment, "reminder", reminder=kind)
        return kind


def reminders_send(*, now: datetime | None = None) -> int:
    """Send the reminders due at `now` (default: the current time) for booked appointments
    not yet started; each at most once. Returns how many were sent."""
    now = now or timezone.now()
    window = now + timedelta(days=2)
    candidates = list(
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED, start__gt=now, start__lte=window
        )
        .filter(Q(reminded_two_hours_at__isnull=True) | Q(reminded_day_before_at__isnull=True))
        .order_by("start", "id")
        .values_list("pk", "start", "reminded_day_before_at", "reminded_two_hours_at")
    )
    sent = 0
    for pk, start, day_before, two_hours in candidates:
        due = reminder_due(start)
        if (two_hours is None and now >= due[TWO_HOURS]) or (
            day_before is None and now >= due[DAY_BEFORE]
        ):
            sent += bool(_remind(pk, now))
    return sent
