"""The consignment page's block of appointments (included by tracking's template)."""

from typing import Any

from django import template

from appointments.models import Appointment, Service

register = template.Library()


@register.inclusion_tag("appointments/_consignment.html", takes_context=True)
def consignment_appointments(context: Any, consignment: Any) -> dict[str, Any]:
    from appointments.views import eligible_services

    appointments = list(
        Appointment.objects.filter(consignment=consignment)
        .select_related("post")
        .order_by("-start")[:20]
    )
    active = {a.service for a in appointments if a.is_active}
    read_only = bool(context.get("read_only"))
    bookable = (
        []
        if read_only
        else [Service(code) for code in eligible_services(consignment) if code not in active]
    )
    return {
        "consignment": consignment,
        "appointments": appointments,
        "bookable": bookable,
        "read_only": read_only,
        "request": context.get("request"),
    }
