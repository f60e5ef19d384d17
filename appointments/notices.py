"""What people are told about an appointment change, in French and English, with its .ics.

The notifications app listens to `appointment_changed` and asks `notice_for` what to say; this
module knows nothing of how it is sent (and never imports notifications).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from appointments import ics, schedule
from appointments.models import Appointment, WaitlistEntry


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: str


@dataclass(frozen=True)
class NoticeContent:
    """One occurrence to notify: a unique key (idempotency), the consignment (who is told),
    when, the texts per language ({"fr": {"event", "detail"}, "en": …}), attachments."""

    key: str
    consignment: Any
    occurred_at: datetime
    texts: dict[str, dict[str, str]]
    attachments: list[Attachment] = field(default_factory=list)


LANGUAGES = ("fr", "en")


def _when(instant: datetime) -> str:
    local = instant.astimezone(schedule.PARIS)
    return f"{formats.date_format(local, 'DATE_FORMAT')} {local:%H:%M}"


def _slot(appointment: Appointment) -> str:
    return _("%(service)s at %(post)s, %(when)s") % {
        "service": appointment.get_service_display(),
        "post": appointment.post.name,
        "when": _when(appointment.start),
    }


def _texts(action: str, appointment: Appointment | None, extra: dict[str, Any]) -> dict[str, str]:
    """The event label and the detail sentence in the active language."""
    if action == "waitlist_offered":
        entry: WaitlistEntry = extra["waitlist_entry"]
        assert entry.offer_start is not None and entry.offer_expires_at is not None
        return {
            "event": _("A place is free"),
            "detail": _(
                "A slot is held for you: %(service)s, %(when)s. Accept it before %(until)s."
            )
            % {
                "service": entry.get_service_display(),
                "when": _when(entry.offer_start),
                "until": entry.offer_expires_at.astimezone(schedule.PARIS).strftime("%H:%M"),
            },
        }
    assert appointment is not None
    if action == "booked":
        detail = _("Booked: %(slot)s.") % {"slot": _slot(appointment)}
        event = _("Appointment booked")
    elif action == "rescheduled":
        detail = _("Moved to %(slot)s.") % {"slot": _slot(appointment)}
        event = _("Appointment moved")
    elif action == "cancelled":
        detail = _("Cancelled: %(slot)s.") % {"slot": _slot(appointment)}
        event = _("Appointment cancelled")
    elif action == "missed":
        rebooked: Appointment = extra["rebooked"]
        if appointment.reason == "post_closed":
            reason = _("the post is closed")
        else:
            reason = _("the authority could not come")
        detail = _(
            "Your appointment of %(old)s could not take place (%(reason)s); your container has "
            "priority on %(new)s."
        ) % {"old": _when(appointment.start), "reason": reason, "new": _slot(rebooked)}
        event = _("Appointment rebooked with priority")
    elif action == "reminder":
        detail = _("Reminder: %(slot)s. Containers: %(containers)s.") % {
            "slot": _slot(appointment),
            "containers": ", ".join(appointment.containers),
        }
        event = _("Appointment reminder")
    else:
        detail, event = _slot(appointment), action
    return {"event": str(event), "detail": str(detail)}


def _ics(appointment: Appointment) -> Attachment:
    return Attachment(
        filename=f"rendez-vous-{appointment.pk}.ics",
        content_type=f"text/calendar; method={ics.method(appointment)}; charset=utf-8",
        content=ics.appointment_ics(appointment).decode(),
    )


NOTIFIED = frozenset(
    {"booked", "rescheduled", "cancelled", "missed", "reminder", "waitlist_offered"}
)


def notice_for(
    *, appointment: Appointment | None, action: str, **extra: Any
) -> NoticeContent | None:
    """What to tell the consignment's company about this change; None when nothing is told
    (check-in, completion: the tracking event says it, no-show, the rebooked half of a miss)."""
    if action not in NOTIFIED:
        return None
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = _texts(action, appointment, extra)
    if action == "waitlist_offered":
        entry: WaitlistEntry = extra["waitlist_entry"]
        return NoticeContent(
            key=f"waitlist:{entry.pk}:offer:{entry.offer_start:%Y%m%dT%H%M%z}:{entry.updated_at.timestamp():.0f}",
            consignment=entry.consignment,
            occurred_at=timezone.now(),
            texts=texts,
        )
    assert appointment is not None
    attachments = [_ics(appointment)]
    suffix = str(appointment.sequence)
    if action == "missed":
        attachments.append(_ics(extra["rebooked"]))
    elif action == "reminder":
        suffix = f"{extra['reminder']}:{appointment.sequence}"
    return NoticeContent(
        key=f"appointment:{appointment.pk}:{action}:{suffix}",
        consignment=appointment.consignment,
        occurred_at=timezone.now(),
        texts=texts,
        attachments=attachments,
    )
