"""Hand-written SQL of the booking hot path (measured: bench.appointments), one named
operation. The ORM built this read with three subqueries at every booking, and compiling it
cost more CPU than the rest of a refused booking; as a prepared statement it is parsed and
planned once per connection (sesame/prepared.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection

from appointments.models import Appointment, Calendar, Closure, Slot
from sesame.prepared import Prepared, named

# The longest slot a calendar allows (its check constraint): a closure that could touch a slot
# starting at `start` begins before start + this.
LONGEST_SLOT_MINUTES = 480
CALENDAR_NAMES = [f.attname for f in Calendar._meta.concrete_fields]


@dataclass(frozen=True)
class BookingRead:
    calendar: Calendar
    taken: int  # places held in the slot at `start`
    may_be_closed: bool  # a closure of the post (service or all) may touch that slot
    active: bool  # the consignment has an active appointment for the service


@functools.cache
def _booking_read() -> Prepared:
    columns = ", ".join(f"c.{f.column}" for f in Calendar._meta.concrete_fields)
    body = (
        f"SELECT {columns}, "  # noqa: S608 - table and column names only
        f"COALESCE((SELECT s.taken FROM {Slot._meta.db_table} s"
        " WHERE s.calendar_id = c.id AND s.start = $3), 0), "
        f"EXISTS (SELECT 1 FROM {Closure._meta.db_table} x WHERE x.post_id = c.post_id"
        " AND (x.service = $2 OR x.service = '')"
        f" AND x.starts_at < $3 + interval '{LONGEST_SLOT_MINUTES} minutes'"
        " AND x.ends_at > $3), "
        f"EXISTS (SELECT 1 FROM {Appointment._meta.db_table} a WHERE a.consignment_id = $4"
        " AND a.service = $2 AND a.status IN ('booked', 'checked_in')) "
        f"FROM {Calendar._meta.db_table} c WHERE c.post_id = $1 AND c.service = $2"
    )
    return named("appt_booking_read", body, ["bigint", "text", "timestamptz", "bigint"])


def booking_read(
    *, post_id: int, service: str, start: datetime, consignment_id: int
) -> BookingRead | None:
    """What a booking reads before it writes, in one round trip: the calendar of (post,
    service), the slot's places taken, a possible closure, an active appointment of the
    consignment. None when the post has no calendar for the service."""
    with connection.cursor() as cursor:
        cursor.execute(_booking_read().ensure(), [post_id, service, start, consignment_id])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(CALENDAR_NAMES)
    calendar = Calendar.from_db(DEFAULT_DB_ALIAS, CALENDAR_NAMES, row[:width])
    taken, closed, active = row[width:]
    return BookingRead(calendar, int(taken), bool(closed), bool(active))
