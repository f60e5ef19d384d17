"""Appointment use cases. Each public function is keyword-only, one transaction, sends
`appointment_changed` inside it, and says in its docstring what it guarantees."""

from appointments.services.authority import (
    appointment_check_in,
    appointment_complete,
    appointment_miss,
    appointment_no_show,
    closure_declare,
)
from appointments.services.booking import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
)
from appointments.services.calendars import calendar_set, calendars_seed
from appointments.services.feeds import feed_token_create, feed_token_revoke
from appointments.services.reminders import reminders_send
from appointments.services.waitlist import (
    waitlist_accept,
    waitlist_cancel,
    waitlist_join,
    waitlist_sweep,
)

__all__ = [
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_complete",
    "appointment_miss",
    "appointment_no_show",
    "appointment_reschedule",
    "calendar_set",
    "calendars_seed",
    "closure_declare",
    "feed_token_create",
    "feed_token_revoke",
    "reminders_send",
    "waitlist_accept",
    "waitlist_cancel",
    "waitlist_join",
    "waitlist_sweep",
]
