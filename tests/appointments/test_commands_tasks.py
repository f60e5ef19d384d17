"""set_calendar, and the periodic tasks run by a real worker."""

import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments.models import Calendar
from appointments.services import appointment_book
from notifications.models import Delivery
from tests.appointments.conftest import PARIS, calendar, consignment
from tests.notifications.conftest import make_member


@pytest.mark.django_db
def test_set_calendar_is_idempotent_and_replaces(capsys):
    args = [
        "--post",
        "FRLEH4",
        "--service",
        "SIVEP",
        "--hours",
        "mon-fri 08:00-12:00 13:30-17:00; sat 08:00-12:00",
        "--slot-minutes",
        "30",
        "--capacity",
        "4",
        "--notice-hours",
        "24",
        "--horizon-days",
        "60",
    ]
    call_command("set_calendar", *args)
    call_command("set_calendar", *args)
    assert Calendar.objects.filter(post__code="FRLEH4", service="SIVEP").count() == 1
    call_command("set_calendar", *args[:-2], "--horizon-days", "10")
    cal = Calendar.objects.get(post__code="FRLEH4", service="SIVEP")
    assert (cal.hours, cal.horizon_days) == ("mon-fri 08:00-12:00 13:30-17:00; sat 08:00-12:00", 10)
    with pytest.raises(CommandError, match="hours"):
        call_command("set_calendar", "--post", "FRLEH4", "--service", "SIVEP", "--hours", "x")
    with pytest.raises(CommandError, match="FRXXX"):
        call_command("set_calendar", "--post", "FRXXX", "--service", "SIVEP", "--hours", "x")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_a_due_reminder_once_however_often_beat_fires(company, clock, start_worker):
    from appointments.tasks import reminders

    make_member(company)
    calendar("SIVEP", hours="mon-sun 00:00-23:30", notice_hours=0)
    now = timezone.now()
    start = (now + timedelta(minutes=90)).astimezone(PARIS)
    start = start.replace(minute=0 if start.minute < 30 else 30, second=0, microsecond=0)
    clock(now - timedelta(days=1))  # booked yesterday: both reminders came due since
    appointment_book(consignment=consignment(company), service="SIVEP", start=start)
    clock(now)
    worker = start_worker()
    for _ in range(3):  # beat firing again, or restarted and firing at once
        reminders.delay()
    rows = Delivery.objects.filter(kind="appointment_reminder", channel="inbox")
    deadline = time.monotonic() + 60  # the test's clock stands still; the worker's does not
    while not rows.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    worker.stop()  # every task taken has finished
    assert rows.count() == 1
    assert "two_hours" in rows.get().notice.key
