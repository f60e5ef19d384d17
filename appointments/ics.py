"""iCalendar (RFC 5545) of appointments, with the `icalendar` package.

One VEVENT per appointment whose UID never changes and whose SEQUENCE is the appointment's
`sequence` (every change raises it), so a calendar application updates the event instead of
adding another. DTSTART/DTEND carry TZID Europe/Paris with its VTIMEZONE. A single
appointment's file is an iTIP message: METHOD:REQUEST while the appointment stands,
METHOD:CANCEL with STATUS:CANCELLED once cancelled or missed (a priority appointment replaces
a missed one, under its own UID). A feed (subscription) has no METHOD.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from appointments import schedule
from appointments.models import Appointment, AppointmentStatus

PRODID = "-//Sesame//Inspection appointments//FR"
CANCELLED = (AppointmentStatus.CANCELLED, AppointmentStatus.MISSED)
SERVICE_NAMES = {"SIVEP": "SIVEP", "DGCCRF": "DGCCRF", "DOUANE": "Douane"}


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@sesame"


def method(appointment: Appointment) -> str:
    return "CANCEL" if appointment.status in CANCELLED else "REQUEST"


def _event(appointment: Appointment) -> Event:
    consignment = appointment.consignment
    event = Event()
    event.add("uid", uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start.astimezone(schedule.PARIS))
    event.add("dtend", appointment.end.astimezone(schedule.PARIS))
    service = SERVICE_NAMES.get(appointment.service, appointment.service)
    priority = " (prioritaire)" if appointment.priority else ""
    event.add("summary", f"Contrôle {service} — lot {consignment.reference}{priority}")
    event.add("location", vText(appointment.post.name))
    containers = ", ".join(appointment.containers)
    event.add(
        "description",
        f"Rendez-vous de contrôle {service} au {appointment.post.name} "
        f"({appointment.post.code}). Lot {consignment.reference}. Conteneurs : {containers}.",
    )
    event.add("status", "CANCELLED" if appointment.status in CANCELLED else "CONFIRMED")
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    organizer = vCalAddress(f"mailto:{address or 'no-reply@sesame.localhost'}")
    organizer.params["cn"] = vText("Sesame")
    event.add("organizer", organizer)
    return event


def _calendar(events: Iterable[Event], method_name: str = "") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method_name:
        calendar.add("method", method_name)
    for event in events:
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def appointment_ics(appointment: Appointment) -> bytes:
    """The appointment as an iTIP message (METHOD REQUEST or CANCEL)."""
    return _calendar([_event(appointment)], method(appointment))


def feed_ics(appointments: Iterable[Appointment], name: str) -> bytes:
    """A subscription feed: every appointment given, cancelled ones as STATUS:CANCELLED."""
    calendar_events = [_event(a) for a in appointments]
    data = _calendar(calendar_events)
    # X-WR-CALNAME names the calendar in Outlook, Google and Apple Calendar.
    return data.replace(b"VERSION:2.0\r\n", f"VERSION:2.0\r\nX-WR-CALNAME:{name}\r\n".encode(), 1)
