"""The registry of event types of the change feed and the webhooks, declared once as data.

A type is ``<subject>.<what happened>``: declarations (the GUN's outcomes and the release),
consignments (every tracking event of their timeline), appointments and the import dossier.
Adding a source is adding its types here and a receiver in ``notifications.receivers``.
"""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class EventType:
    code: str
    subject: str  # the kind of object it is about: the ordering unit of webhook deliveries
    label: Any  # lazy translation


SUBJECT_LABELS: dict[str, Any] = {
    "declaration": _("Customs declarations"),
    "consignment": _("Consignments"),
    "appointment": _("Inspection appointments"),
    "dossier": _("Import dossier"),
}

_TYPES = [
    EventType("declaration.anticipated", "declaration", _("Declaration registered (anticipation)")),
    EventType("declaration.replaced", "declaration", _("Declaration replaced (anticipation)")),
    EventType("declaration.validated", "declaration", _("Declaration validated by the GUN")),
    EventType("declaration.rejected", "declaration", _("Declaration rejected by the GUN")),
    EventType("declaration.rectified", "declaration", _("Declaration rectified")),
    EventType("declaration.cancelled", "declaration", _("Declaration cancelled")),
    EventType("declaration.released", "declaration", _("Release (BAE) granted")),
    EventType("declaration.control_decided", "declaration", _("Customs control decided")),
    EventType("consignment.event_recorded", "consignment", _("Tracking event of a consignment")),
    EventType("appointment.booked", "appointment", _("Appointment booked")),
    EventType("appointment.rescheduled", "appointment", _("Appointment rescheduled")),
    EventType("appointment.cancelled", "appointment", _("Appointment cancelled")),
    EventType("appointment.checked_in", "appointment", _("Container checked in")),
    EventType("appointment.completed", "appointment", _("Inspection completed")),
    EventType("appointment.no_show", "appointment", _("Container not presented")),
    EventType("appointment.missed", "appointment", _("Appointment missed by the authority")),
    EventType("appointment.rebooked", "appointment", _("Priority appointment rebooked")),
    EventType("appointment.waitlist_offered", "appointment", _("Waitlist slot offered")),
    EventType("appointment.reminder", "appointment", _("Appointment reminder")),
    EventType("dossier.document_added", "dossier", _("Document added to a dossier")),
    EventType("dossier.completed", "dossier", _("Dossier complete")),
]

EVENT_TYPES: dict[str, EventType] = {event_type.code: event_type for event_type in _TYPES}
TYPE_CHOICES = [(event_type.code, event_type.label) for event_type in _TYPES]


def grouped() -> list[tuple[Any, list[EventType]]]:
    """The types by subject, in the registry's order (for the subscription page)."""
    groups: dict[str, list[EventType]] = {}
    for event_type in _TYPES:
        groups.setdefault(event_type.subject, []).append(event_type)
    return [(SUBJECT_LABELS[subject], types) for subject, types in groups.items()]
