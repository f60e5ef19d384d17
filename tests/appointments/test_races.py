"""Capacity under concurrency: each thread has its own database connection, data committed.

The proof that the race is real comes first: with the database's capacity trigger disabled,
fifty bookings that all read a free slot before any of them writes overbook it; with the
trigger, exactly the free places are given, whatever the interleaving.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
import pytest
from django.db import connection

from appointments.errors import AppointmentError
from appointments.models import Appointment, Slot
from appointments.services import appointment_book, appointment_reschedule
from tests.appointments.conftest import MONDAY, at, calendar, consignment
from tests.conftest import database_url

pytestmark = pytest.mark.django_db(transaction=True)
THURSDAY = MONDAY + timedelta(days=3)
TABLE = Appointment._meta.db_table


@pytest.fixture(autouse=True)
def _monday(clock, settings):
    clock(at(MONDAY, 10))
    settings.APPOINTMENTS_LOCK_TIMEOUT_MS = 120_000  # the test holds the table for a while


def _race(items: list, act: Callable) -> Counter:
    outcomes: Counter = Counter()
    guard = threading.Lock()

    def run(item) -> None:
        try:
            result = act(item)
        except AppointmentError as exc:
            result = exc.code
        except Exception as exc:
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with guard:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return outcomes, threads


@contextmanager
def writes_held(expected_waiters: int) -> Iterator[None]:
    """Hold a SHARE lock on the appointments table (reads pass, inserts and updates wait) until
    `expected_waiters` transactions wait on it: everyone has read the slot before anyone
    writes. Then let them all go at once."""
    holder = psycopg2.connect(database_url())
    with holder.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN SHARE MODE")
    try:
        yield
        watcher = psycopg2.connect(database_url())
        watcher.autocommit = True
        deadline = time.monotonic() + 120
        with watcher.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = %s AND NOT l.granted",
                    [TABLE],
                )
                if cursor.fetchone()[0] >= expected_waiters:
                    break
                time.sleep(0.05)
        watcher.close()
    finally:
        holder.commit()
        holder.close()


@contextmanager
def capacity_trigger_disabled() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
            "AND tgname LIKE 'pgtrigger_appointment_slot_capacity%%'",
            [TABLE],
        )
        (name,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE {TABLE} DISABLE TRIGGER "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE {TABLE} ENABLE TRIGGER "{name}"')


def _last_three_places(company) -> list:
    calendar("SIVEP", capacity=5)
    for _ in range(2):
        appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    return [consignment(company) for _ in range(50)]


def _book(lot) -> str:
    appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    return "booked"


def test_without_the_trigger_fifty_bookings_overbook_the_last_three_places(company):
    lots = _last_three_places(company)
    with capacity_trigger_disabled():
        with writes_held(expected_waiters=50):
            outcomes, threads = _race(lots, _book)
        for thread in threads:
            thread.join(120)
    assert outcomes["booked"] > 3, outcomes  # every racer saw a free place: the race is real
    assert Appointment.objects.filter(start=at(THURSDAY, 8), status="booked").count() > 5


def test_fifty_bookings_for_the_last_three_places_book_exactly_three(company):
    lots = _last_three_places(company)
    with writes_held(expected_waiters=50):
        outcomes, threads = _race(lots, _book)
    for thread in threads:
        thread.join(120)
    assert outcomes == {"booked": 3, "slot_full": 47}, outcomes
    assert Appointment.objects.filter(start=at(THURSDAY, 8), status="booked").count() == 5
    assert Slot.objects.get(start=at(THURSDAY, 8)).taken == 5


def test_twenty_reschedules_into_one_place_move_exactly_one(company):
    calendar("SIVEP", capacity=2)
    appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 16))
    times = [(8 + n // 2, 30 * (n % 2)) for n in range(8)] + [(13, 30), (14, 0)]
    movers = [
        appointment_book(consignment=consignment(company), service="SIVEP", start=at(day, h, m))
        for day in (THURSDAY, THURSDAY + timedelta(days=1))
        for h, m in times
    ]
    before = {a.pk: a.start for a in movers}

    start = threading.Barrier(len(movers))

    def move(appointment) -> str:
        start.wait(timeout=60)  # all threads connected, then all at once
        appointment_reschedule(appointment=appointment, start=at(THURSDAY, 16))
        return "moved"

    outcomes, threads = _race(movers, move)
    for thread in threads:
        thread.join(120)
    assert outcomes == {"moved": 1, "slot_full": 19}, outcomes
    assert Appointment.objects.filter(start=at(THURSDAY, 16), status="booked").count() == 2
    for appointment in Appointment.objects.filter(pk__in=before):
        if appointment.start != at(THURSDAY, 16):
            assert appointment.start == before[appointment.pk]  # every loser keeps its slot
            assert appointment.sequence == 0
            assert Slot.objects.get(start=appointment.start).taken == 1
