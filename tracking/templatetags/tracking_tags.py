"""How an event's payload reads on the timeline: known keys and values by name, no internal ids
or codes."""

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from tracking.kinds import payload_value_label

register = template.Library()

LABELS = {
    "mrn": "MRN",
    "ched_reference": _("CHED"),
    "client_reference": _("Client reference"),
    "stage": _("GUN stage"),
    "outcome": _("Outcome"),
    "result": _("Result"),
    "decision": _("Decision"),
    "note": _("Note"),
    "comment": _("Comment"),
    "agent": _("Agent"),
    "control_required": _("Control required"),
    "check": _("Check"),
    "service": _("Service"),
    "post": _("Border control post"),
    "certificate_number": _("Certificate number"),
    "coi_reference": _("Certificate of inspection"),
}
HIDDEN = {"declaration_id", "messages"}
HIDDEN |= {"appointment", "start", "end"}  # an appointment's id and slot: not for reading


@register.filter
def payload_items(payload: dict[str, Any] | None) -> list[tuple[Any, Any]]:
    """(label, value) pairs worth showing: empty values, internal ids and lists are left out;
    closed lists of values (result, outcome, stage…) by their labels."""
    items = []
    for key, value in (payload or {}).items():
        if key in HIDDEN or value in (None, "", [], {}, False):
            continue
        if isinstance(value, list | dict):
            continue
        label = LABELS.get(key, key.replace("_", " ").capitalize())
        items.append((label, payload_value_label(key, value)))
    return items
