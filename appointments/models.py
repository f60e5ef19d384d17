"""Inspection appointments (APPOINTMENTS.md): calendars per (post, service), closures, the
appointments, the waitlist, and the slot counters PostgreSQL keeps for capacity.

Capacity is enforced by the database: a trigger on appointments and waitlist offers keeps
`Slot.taken` (the places held in a slot) with one conditional upsert on the slot row, which
takes that row's lock, and refuses (SQLSTATE 23514, constraint `appointment_slot_capacity`) a
place beyond the calendar's capacity. See docs/appointments.md.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sesame.audit import audited


class Service(models.TextChoices):
    SIVEP = "SIVEP", "SIVEP"
    DGCCRF = "DGCCRF", "DGCCRF"
    DOUANE = "DOUANE", _("Customs")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")
    MISSED = "missed_by_authority", _("Missed by the authority")


ACTIVE = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


class Check(models.TextChoices):
    IDENTITY = "identity", _("Identity check")
    PHYSICAL = "physical", _("Physical check")


class Result(models.TextChoices):
    COMPLIANT = "compliant", _("Compliant")
    NON_COMPLIANT = "non_compliant", _("Not compliant")


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offered")
    FULFILLED = "fulfilled", _("Booked")
    EXPIRED = "expired", _("Offer expired")
    CANCELLED = "cancelled", _("Cancelled")


WAITLIST_ACTIVE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


@audited()
class Calendar(models.Model):
    """When a (post, service) inspects: opening hours (local), slot length, capacity, notice,
    horizon (APPOINTMENTS.md §1)."""

    post = models.ForeignKey(
        "sesame.BorderControlPost", on_delete=models.CASCADE, related_name="calendars"
    )
    service = models.CharField(_("service"), max_length=6, choices=Service.choices)
    hours = models.CharField(_("opening hours"), max_length=500)
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    capacity = models.PositiveSmallIntegerField(_("appointments per slot"), default=4)
    notice_hours = models.PositiveSmallIntegerField(_("notice (hours)"), default=24)
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"), default=60)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["post__code", "service"]
        verbose_name = _("calendar")
        constraints = [
            models.UniqueConstraint(fields=["post", "service"], name="calendar_post_service"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=480),
                name="calendar_slot_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(horizon_days__lte=366), name="calendar_horizon_at_most_a_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id}/{self.service}"


@audited()
class Closure(models.Model):
    """A period the post (one service, or all when `service` is empty) does not inspect."""

    post = models.ForeignKey(
        "sesame.BorderControlPost", on_delete=models.CASCADE, related_name="closures"
    )
    service = models.CharField(_("service"), max_length=6, choices=Service.choices, blank=True)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("closure")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="closure_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["post", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.post_id} {self.service or '*'} {self.starts_at:%Y-%m-%d %H:%M}"


# Not @audited(): a counter kept by the capacity trigger; the appointments and offers that move
# it are audited themselves.
class Slot(models.Model):
    """Places held in one slot of a calendar (active, non-priority appointments and live
    waitlist offers), kept by the database trigger `appointment_slot_capacity`."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="slots")
    start = models.DateTimeField()
    taken = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "start"], name="slot_calendar_start"),
            models.CheckConstraint(condition=Q(taken__gte=0), name="slot_taken_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar_id} {self.start:%Y-%m-%d %H:%M}: {self.taken}"


# The capacity rule in PostgreSQL (one function for both tables that hold places). `held_*` say
# whether the old and new row hold a place in (calendar, start); moving a place releases the old
# one and takes the new one. Taking is one upsert on the slot row: it locks that row, and
# READ COMMITTED re-checks `taken < capacity` against the latest committed value, so
# concurrent takers of one slot queue on the row and the last place is given once.
SLOT_FUNCTION = """
CREATE OR REPLACE FUNCTION appointments_slot_move(
    old_held boolean, old_calendar bigint, old_start timestamptz,
    new_held boolean, new_calendar bigint, new_start timestamptz
) RETURNS void AS $$
DECLARE
    cap integer;
    now_taken integer;
BEGIN
    IF old_held AND new_held AND old_calendar = new_calendar AND old_start = new_start THEN
        RETURN;
    END IF;
    IF old_held THEN
        UPDATE appointments_slot SET taken = taken - 1
        WHERE calendar_id = old_calendar AND start = old_start;
    END IF;
    IF new_held THEN
        SELECT capacity INTO cap FROM appointments_calendar WHERE id = new_calendar;
        IF cap IS NULL OR cap < 1 THEN
            RAISE EXCEPTION 'slot full' USING ERRCODE = 'check_violation',
                CONSTRAINT = 'appointment_slot_capacity';
        END IF;
        INSERT INTO appointments_slot AS s (calendar_id, start, taken)
        VALUES (new_calendar, new_start, 1)
        ON CONFLICT (calendar_id, start) DO UPDATE SET taken = s.taken + 1
        WHERE s.taken < cap
        RETURNING s.taken INTO now_taken;
        IF now_taken IS NULL THEN
            RAISE EXCEPTION 'slot full' USING ERRCODE = 'check_violation',
                CONSTRAINT = 'appointment_slot_capacity';
        END IF;
    END IF;
END;
$$ LANGUAGE plpgsql;
"""
SLOT_FUNCTION_DROP = (
    "DROP FUNCTION IF EXISTS appointments_slot_move("
    "boolean, bigint, timestamptz, boolean, bigint, timestamptz);"
)

_APPOINTMENT_HOLDS = "{row}.status IN ('booked', 'checked_in') AND NOT {row}.priority"
_OFFER_HOLDS = "{row}.status = 'offered'"


def _capacity_trigger(holds: str, calendar: str, start: str) -> pgtrigger.Trigger:
    old = f"(TG_OP <> 'INSERT' AND {holds.format(row='OLD')})"
    new = f"(TG_OP <> 'DELETE' AND {holds.format(row='NEW')})"
    pick = "CASE WHEN TG_OP = '{op}' THEN NULL ELSE {row}.{column} END"
    return pgtrigger.Trigger(
        name="appointment_slot_capacity",
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=(
            f"PERFORM appointments_slot_move({old}, "
            f"{pick.format(op='INSERT', row='OLD', column=calendar)}, "
            f"{pick.format(op='INSERT', row='OLD', column=start)}, {new}, "
            f"{pick.format(op='DELETE', row='NEW', column=calendar)}, "
            f"{pick.format(op='DELETE', row='NEW', column=start)}); "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;"
        ),
    )


@audited()
class Appointment(models.Model):
    """A container presented at the post's inspection facility at a slot."""

    consignment = models.ForeignKey(
        "tracking.Consignment", on_delete=models.PROTECT, related_name="appointments"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="appointments")
    post = models.ForeignKey(
        "sesame.BorderControlPost", on_delete=models.PROTECT, related_name="appointments"
    )
    service = models.CharField(_("service"), max_length=6, choices=Service.choices)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.BOOKED,
    )
    priority = models.BooleanField(_("priority"), default=False)
    containers = ArrayField(models.CharField(max_length=11), default=list, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=16, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    # Raised by every change (a cancellation included): the .ics SEQUENCE.
    sequence = models.PositiveIntegerField(default=0)
    rebooked_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rebooked_as"
    )
    check_kind = models.CharField(_("check"), max_length=8, choices=Check.choices, blank=True)
    result = models.CharField(_("result"), max_length=13, choices=Result.choices, blank=True)
    result_note = models.CharField(max_length=1000, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    booked_by = models.CharField(max_length=200, blank=True)
    acted_by = models.CharField(max_length=200, blank=True)  # who made the last status change
    # When the current start was chosen (booking, reschedule, rebooking): reminders due before
    # it are not sent (the confirmation just told the time).
    scheduled_at = models.DateTimeField()
    reminded_day_before_at = models.DateTimeField(null=True, blank=True)
    reminded_two_hours_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("appointment")
        constraints = [
            models.UniqueConstraint(
                fields=["consignment", "service"],
                condition=Q(status__in=["booked", "checked_in"]),
                name="appointment_one_active_per_consignment_service",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_known"
            ),
            models.CheckConstraint(
                condition=(Q(status="completed") & ~Q(result="") & ~Q(check_kind=""))
                | (~Q(status="completed") & Q(result="")),
                name="appointment_result_iff_completed",
            ),
        ]
        indexes = [
            models.Index(fields=["post", "service", "start"]),
            models.Index(fields=["consignment", "service"]),
            models.Index(
                fields=["start"],
                condition=Q(status="booked"),
                name="appointment_booked_start",
            ),
        ]
        triggers = [_capacity_trigger(_APPOINTMENT_HOLDS, "calendar_id", "start")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.service} {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


@audited()
class WaitlistEntry(models.Model):
    """A company waits for a place on a day (consignment, service, date); an offer holds a
    slot for it (counting against capacity) until `offer_expires_at`."""

    consignment = models.ForeignKey(
        "tracking.Consignment", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="waitlist")
    service = models.CharField(_("service"), max_length=6, choices=Service.choices)
    date = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=10, choices=WaitlistStatus.choices, default="waiting"
    )
    offer_start = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        constraints = [
            models.UniqueConstraint(
                fields=["consignment", "service", "date"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_active_per_day",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="offered", offer_start__isnull=False, offer_expires_at__isnull=False)
                    | ~Q(status="offered")
                ),
                name="waitlist_offer_has_slot",
            ),
        ]
        indexes = [models.Index(fields=["calendar", "date", "status", "created_at"])]
        triggers = [_capacity_trigger(_OFFER_HOLDS, "calendar_id", "offer_start")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.service} {self.date} ({self.status})"


@audited()
class FeedToken(models.Model):
    """A private calendar subscription URL of one person: the company's appointments
    (operators) or the post's agenda (agents). Only the SHA-256 of the token is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appointment_feeds"
    )
    company = models.ForeignKey(
        "sesame.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    post = models.ForeignKey(
        "sesame.BorderControlPost",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(company__isnull=False, post__isnull=True)
                | Q(company__isnull=True, post__isnull=False),
                name="feedtoken_company_xor_post",
            ),
        ]

    def __str__(self) -> str:
        return f"feed of {self.user_id}"
