"""Demo appointments for `make run` (called by sesame's demo_data): the demo companies'
consignments get a SIVEP and a DGCCRF appointment at the first free slots, through the same
services as the pages and the API. Idempotent."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from appointments.errors import AppointmentError
from appointments.models import Appointment
from appointments.selectors import availability, calendar_get
from appointments.services import appointment_book


def load(*, company: Any, tag: str, by: str = "demo") -> list[Appointment]:
    from tracking.models import Consignment

    booked = []
    today = timezone.localdate()
    for reference, service in ((f"{tag}-001", "SIVEP"), (f"{tag}-002", "DGCCRF")):
        consignment = Consignment.objects.filter(company=company, reference=reference).first()
        if consignment is None or consignment.post is None or consignment.appointments.exists():
            continue
        calendar = calendar_get(post=consignment.post, service=service)
        if calendar is None:
            continue
        slots = availability(calendar=calendar, first=today, last=today + timedelta(days=14))
        for slot in slots[1::3]:
            if slot.free:
                try:
                    booked.append(
                        appointment_book(
                            consignment=consignment, service=service, start=slot.start, by=by
                        )
                    )
                except AppointmentError:
                    continue
                break
    return booked
