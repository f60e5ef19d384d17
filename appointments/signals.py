"""Signals other apps listen to (webhooks, notifications). Nothing here sends a message.

`appointment_changed` is sent inside the transaction of every change, kwargs:
- `appointment`: the Appointment as it is after the change (None for `waitlist_offered`);
- `action`: one of ACTIONS;
- extra, by action: `waitlist_entry` (waitlist_offered), `reminder` ("day_before" or
  "two_hours"), `rebooked` (missed: the new priority appointment), `previous_start`
  (rescheduled).
"""

from django.dispatch import Signal

ACTIONS = (
    "booked",
    "rescheduled",
    "cancelled",
    "checked_in",
    "completed",
    "no_show",
    "missed",
    "rebooked",
    "waitlist_offered",
    "reminder",
)

appointment_changed = Signal()
