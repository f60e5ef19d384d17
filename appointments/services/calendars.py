"""Calendar settings: the seeded defaults and `set_calendar` (idempotent, replaces)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from appointments import schedule
from appointments.errors import Invalid
from appointments.models import Calendar, Service

DEFAULTS = {
    "hours": schedule.DEFAULT_HOURS,
    "slot_minutes": 30,
    "capacity": 4,
    "notice_hours": 24,
    "horizon_days": 60,
}
LIMITS = {
    "slot_minutes": (5, 480),
    "capacity": (0, 500),
    "notice_hours": (0, 24 * 30),
    "horizon_days": (0, 366),
}


def calendar_values_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise calendar settings (hours written canonically); Invalid names the
    field."""
    clean = dict(values)
    try:
        clean["hours"] = schedule.hours_parse(str(values["hours"]).strip()).spec()
    except schedule.HoursError as exc:
        raise Invalid("invalid", str(exc), field="hours") from None
    for name, (low, high) in LIMITS.items():
        value = values[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Invalid(
                "invalid",
                _("Between %(low)s and %(high)s.") % {"low": low, "high": high},
                field=name,
            )
    return clean


@transaction.atomic
def calendar_set(
    *,
    post: Any,
    service: str,
    hours: str,
    slot_minutes: int,
    capacity: int,
    notice_hours: int,
    horizon_days: int,
) -> Calendar:
    """Create or replace the calendar of (post, service). Existing appointments keep their
    slot (a new slot length or capacity applies to what is booked from now on)."""
    if service not in Service.values:
        raise Invalid("invalid_choice", str(_("Unknown service.")), field="service")
    values = calendar_values_clean(
        {
            "hours": hours,
            "slot_minutes": slot_minutes,
            "capacity": capacity,
            "notice_hours": notice_hours,
            "horizon_days": horizon_days,
        }
    )
    calendar, _created = Calendar.objects.update_or_create(
        post=post, service=service, defaults=values
    )
    return calendar


def calendars_seed(model: Any = None, post_model: Any = None) -> int:
    """The default calendar of every post and service that has none (data migration, tests).
    Returns how many were created."""
    model = model or Calendar
    if post_model is None:
        from sesame.models import BorderControlPost as post_model
    created = 0
    for post in post_model.objects.all():
        for service in Service.values:
            _found, made = model.objects.get_or_create(
                post=post, service=service, defaults=DEFAULTS
            )
            created += made
    return created
