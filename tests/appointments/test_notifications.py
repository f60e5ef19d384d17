"""Every change reaches the notifications outbox (one row per notice, person and channel), FR
and EN, with the .ics an email carries; reminders once each; the waitlist's offers."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from appointments.errors import Conflict
from appointments.models import WaitlistEntry
from appointments.services import (
    appointment_book,
    appointment_cancel,
    appointment_miss,
    appointment_reschedule,
    reminders_send,
    waitlist_accept,
    waitlist_join,
    waitlist_sweep,
)
from appointments.signals import appointment_changed
from notifications.models import Delivery, Notice
from notifications.services import deliveries_send
from tests.appointments.conftest import MONDAY, at, calendar, consignment
from tests.notifications.conftest import make_member

pytestmark = pytest.mark.django_db
THURSDAY = MONDAY + timedelta(days=3)


@pytest.fixture(autouse=True)
def _monday(clock):
    clock(at(MONDAY, 10))


def ics_of(message) -> list[Calendar]:
    return [
        Calendar.from_ical(part.get_payload(decode=True))
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]


def send_emails(smtp, address):
    rows = Delivery.objects.filter(channel="email", address=address, status="pending")
    deliveries_send(delivery_ids=list(rows.values_list("pk", flat=True)), channel="email")
    return smtp.to(address)


def test_booking_moving_cancelling_email_the_ics_with_a_stable_uid(company, smtp):
    admin = make_member(company, role="admin")
    english = make_member(company, role="admin", language="en")
    lot = consignment(company)
    appointment = appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    appointment_reschedule(appointment=appointment, start=at(THURSDAY, 9))
    appointment_cancel(appointment=appointment, reason="no longer needed")
    messages = send_emails(smtp, admin.email)
    assert len(messages) == 3
    calendars = [ics_of(message)[0] for message in messages]
    by_sequence = {int(c.walk("VEVENT")[0]["SEQUENCE"]): c for c in calendars}
    assert set(by_sequence) == {0, 1, 2}
    uids = {str(c.walk("VEVENT")[0]["UID"]) for c in calendars}
    assert uids == {f"appointment-{appointment.pk}@sesame"}
    assert [str(by_sequence[n]["METHOD"]) for n in (0, 1, 2)] == ["REQUEST", "REQUEST", "CANCEL"]
    assert str(by_sequence[2].walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    moved = by_sequence[1].walk("VEVENT")[0]
    assert moved.decoded("DTSTART") == at(THURSDAY, 9)
    assert str(moved["LOCATION"]) == "Le Havre port"
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert any("Rendez-vous confirmé" in s for s in subjects)
    english_messages = send_emails(smtp, english.email)
    assert any("Appointment confirmed" in str(m["Subject"]) for m in english_messages)
    body = english_messages[0].get_body(("plain",)).get_content()
    assert "Booked: SIVEP at Le Havre port" in body or "Moved to" in body or "Cancelled" in body


def test_one_row_per_notice_person_and_channel_even_if_signalled_twice(company):
    make_member(company, role="admin")
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    before = Delivery.objects.count()
    appointment_changed.send(sender=None, appointment=appointment, action="booked")
    assert Delivery.objects.count() == before
    assert Notice.objects.filter(key=f"appointment:{appointment.pk}:booked:0").count() == 1
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"email", "inbox"}


def test_a_missed_slot_tells_the_new_time_and_carries_both_ics(company, smtp):
    admin = make_member(company, role="admin")
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    appointment_miss(appointment=appointment, reason="ill", by="SIVEP")
    message = next(m for m in send_emails(smtp, admin.email) if "modifié" in str(m["Subject"]))
    calendars = ics_of(message)
    assert [str(c["METHOD"]) for c in calendars] == ["CANCEL", "REQUEST"]
    new = calendars[1].walk("VEVENT")[0]
    assert new.decoded("DTSTART") == at(THURSDAY + timedelta(days=1), 8)
    assert "prioritaire" in str(new["SUMMARY"])
    assert "priorité" in message.get_body(("plain",)).get_content()


def reminders(company) -> int:
    return Delivery.objects.filter(kind="appointment_reminder", channel="inbox").count()


def test_reminders_are_sent_once_each_at_16_00_the_day_before_and_two_hours_before(company, clock):
    make_member(company)
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 10)
    )
    cancelled = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 10, 30)
    )
    appointment_cancel(appointment=cancelled)
    wednesday = THURSDAY - timedelta(days=1)
    clock(at(wednesday, 15, 59))
    assert reminders_send() == 0
    clock(at(wednesday, 16))
    assert reminders_send() == 1
    assert reminders_send() == 0  # beat fires again, or restarted: nothing twice
    assert reminders(company) == 1
    clock(at(THURSDAY, 7, 59))
    assert reminders_send() == 0
    clock(at(THURSDAY, 8, 20))  # beat was down from 07:59 to 08:20: caught up
    assert reminders_send() == 1
    assert reminders_send() == 0
    assert reminders(company) == 2
    texts = Notice.objects.filter(key__contains=":reminder:").values_list("key", flat=True)
    assert sorted(texts) == sorted(
        [
            f"appointment:{appointment.pk}:reminder:day_before:0",
            f"appointment:{appointment.pk}:reminder:two_hours:0",
        ]
    )


def test_a_reminder_due_before_the_booking_is_not_sent(company, clock):
    make_member(company)
    calendar("SIVEP", notice_hours=1)
    clock(at(MONDAY, 17))  # after Monday 16:00: the day-before reminder of Tuesday is past
    appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(MONDAY + timedelta(1), 14)
    )
    assert reminders_send() == 0
    clock(at(MONDAY + timedelta(days=1), 12))
    assert reminders_send() == 1  # the two-hour one
    assert reminders(company) == 1


def test_waitlist_offer_accept_and_expiry_pass_the_offer_on(company, clock):
    make_member(company)
    calendar("SIVEP", capacity=1)
    taken = [
        appointment_book(
            consignment=consignment(company), service="SIVEP", start=at(THURSDAY, h, m)
        )
        for h, m in [(8 + n // 2, 30 * (n % 2)) for n in range(8)]
        + [(13 + (n + 1) // 2, 30 * ((n + 1) % 2)) for n in range(7)]
    ]
    first, second = consignment(company), consignment(company)
    entry = waitlist_join(consignment=first, service="SIVEP", day=THURSDAY)
    later = waitlist_join(consignment=second, service="SIVEP", day=THURSDAY)
    assert entry.status == later.status == "waiting"
    with pytest.raises(Conflict) as conflict:
        waitlist_join(consignment=first, service="SIVEP", day=THURSDAY)
    assert conflict.value.code == "already_waiting"
    appointment_cancel(appointment=taken[3])  # 09:30 frees
    entry.refresh_from_db()
    assert entry.status == "offered" and entry.offer_start == at(THURSDAY, 9, 30)
    assert entry.offer_expires_at == at(MONDAY, 10, 30)
    assert Delivery.objects.filter(kind="appointment_offer", channel="inbox").count() == 1
    # the held place counts: nobody else books it
    with pytest.raises(Conflict):
        appointment_book(
            consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 9, 30)
        )
    clock(at(MONDAY, 10, 31))
    with pytest.raises(Conflict) as conflict:
        waitlist_accept(entry=entry)
    assert conflict.value.code == "offer_expired"
    assert waitlist_sweep()["expired"] == 1
    entry.refresh_from_db()
    later.refresh_from_db()
    assert entry.status == "expired"
    assert later.status == "offered" and later.offer_start == at(THURSDAY, 9, 30)
    booked = waitlist_accept(entry=later)
    later.refresh_from_db()
    assert (later.status, later.appointment_id) == ("fulfilled", booked.pk)
    assert booked.start == at(THURSDAY, 9, 30) and booked.consignment == second
    assert WaitlistEntry.objects.filter(status="offered").count() == 0


def test_a_change_goes_out_by_sms_too_in_the_persons_language(company, fake_twilio):
    from tests.notifications.conftest import new_phone

    french = make_member(company, phone=new_phone())
    english = make_member(company, phone=new_phone(), language="en")
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    appointment_cancel(appointment=appointment)
    rows = Delivery.objects.filter(channel="sms", kind="appointment_changed")
    assert set(rows.values_list("address", flat=True)) == {
        french.notification_profile.phone,
        english.notification_profile.phone,
    }
    deliveries_send(delivery_ids=list(rows.values_list("pk", flat=True)), channel="sms")
    (to_french,) = fake_twilio.received(french.notification_profile.phone)
    (to_english,) = fake_twilio.received(english.notification_profile.phone)
    assert "Annulé : SIVEP au Le Havre port, 3 décembre 2026 08:00" in to_french["body"]
    assert "Cancelled: SIVEP at Le Havre port" in to_english["body"]
