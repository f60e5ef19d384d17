"""What the appointment services refuse, with the contract's codes (APPOINTMENTS.md §3).

The API maps them onto its error shape by `status`; the pages show `message`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "not_a_slot": _("This time is not a slot of the calendar, or the post is closed then."),
    "too_late": _("This slot is too close or already past."),
    "too_far": _("This slot is beyond the booking horizon."),
    "ched_missing": _("A SIVEP check needs a CHED reference and goods that SIVEP inspects."),
    "not_applicable": _("A DGCCRF check applies only to fruit and vegetables or organic goods."),
    "no_customs_control": _(
        "A customs appointment needs a linked declaration selected for control, still open."
    ),
    "no_post": _("The consignment has no border control post."),
    "slot_full": _("This slot is full."),
    "already_booked": _("This consignment already has an appointment for this service."),
    "wrong_status": _("Not possible in the appointment's current status."),
    "already_waiting": _("This consignment already waits for that day."),
    "offer_expired": _("The offer has expired."),
    "busy": _("The slot is busy; try again in a moment."),
}


class AppointmentError(Exception):
    """A refusal: HTTP-like `status`, stable `code`, a sentence, and the field it is about."""

    status = 400

    def __init__(self, code: str, detail: str = "", field: str = "") -> None:
        self.code = code
        self.detail = detail or str(MESSAGES.get(code, code))
        self.field = field
        super().__init__(self.detail)

    @property
    def message(self) -> str:
        return str(MESSAGES.get(self.code, self.detail))


class Invalid(AppointmentError):
    status = 400


class Refused(AppointmentError):
    """A business rule refuses the request (422)."""

    status = 422


class Conflict(AppointmentError):
    """The current state refuses the request (409)."""

    status = 409
