"""The pages: operators book in two clicks, move, cancel after confirming, list, export, wait,
subscribe; agents (second factor) run their post's day. Another company's or post's object is
404."""

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from icalendar import Calendar

from appointments.models import Appointment, Closure, FeedToken, WaitlistEntry
from appointments.models import Calendar as AppointmentCalendar
from appointments.services import appointment_book
from sesame.models import BorderControlPost, User
from tests.appointments.conftest import MONDAY, at, calendar, consignment
from tests.factories import AgentFactory
from tracking.models import Event

pytestmark = pytest.mark.django_db
THURSDAY = MONDAY + timedelta(days=3)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def _monday(clock):
    clock(at(MONDAY, 10))


@pytest.fixture
def operator_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def agent_client(service: str = "sivep", code: str = "FRLEH4") -> Client:
    agent = AgentFactory(service=service, post=BorderControlPost.objects.get(code=code))
    TOTP.activate(agent.user, SECRET)
    client = Client()
    client.force_login(agent.user)
    return client


def test_book_in_two_clicks_from_the_consignment(operator_client, company):
    lot = consignment(company)
    page = operator_client.get(f"/tracking/{lot.pk}/").content.decode()
    assert f"/appointments/consignment/{lot.pk}/book/?service=SIVEP" in page
    week = operator_client.get(f"/appointments/consignment/{lot.pk}/book/?service=SIVEP")
    assert week.status_code == 200
    html = week.content.decode()
    assert 'data-start="2026-12-01T10:00:00+01:00"' in html  # the first bookable slot
    assert "4 places" in html
    confirm = operator_client.get(
        f"/appointments/consignment/{lot.pk}/book/confirm/",
        {"service": "SIVEP", "start": "2026-12-03T08:00:00+01:00"},
    )
    assert confirm.status_code == 200
    booked = operator_client.post(
        f"/appointments/consignment/{lot.pk}/book/confirm/",
        {
            "service": "SIVEP",
            "start": "2026-12-03T08:00:00+01:00",
            "containers": lot.container_numbers[:1],
        },
    )
    appointment = Appointment.objects.get()
    assert booked.status_code == 302 and booked.url == f"/appointments/{appointment.pk}/"
    assert appointment.containers == lot.container_numbers[:1]
    assert appointment.start == at(THURSDAY, 8)
    listing = operator_client.get("/appointments/").content.decode()
    assert lot.reference in listing
    fragment = operator_client.get(
        f"/appointments/consignment/{lot.pk}/book/?service=SIVEP&week=2026-12-03",
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "<html" not in fragment and "3 places" in fragment  # live count, one place taken


def test_move_and_cancel_with_a_confirmation(operator_client, company):
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    assert operator_client.get(f"/appointments/{appointment.pk}/reschedule/").status_code == 200
    moved = operator_client.post(
        f"/appointments/{appointment.pk}/reschedule/", {"start": "2026-12-04T09:00:00+01:00"}
    )
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.start, appointment.sequence) == (at(THURSDAY + timedelta(days=1), 9), 1)
    confirm = operator_client.get(f"/appointments/{appointment.pk}/cancel/")
    assert confirm.status_code == 200 and b"confirm-cancel" in confirm.content
    appointment.refresh_from_db()
    assert appointment.status == "booked"  # looking at the confirmation changes nothing
    operator_client.post(f"/appointments/{appointment.pk}/cancel/", {"reason": "late ship"})
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    ics = operator_client.get(f"/appointments/{appointment.pk}/calendar.ics")
    assert str(Calendar.from_ical(ics.content)["METHOD"]) == "CANCEL"


def test_a_full_slot_shows_the_waitlist_and_joining_it(operator_client, company):
    calendar("SIVEP", capacity=1, hours="mon-fri 08:00-08:30")
    appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    lot = consignment(company)
    html = operator_client.get(
        f"/appointments/consignment/{lot.pk}/book/?service=SIVEP&week=2026-12-03"
    ).content.decode()
    assert "Wait for a place" in html or "Attendre une place" in html
    operator_client.post(
        f"/appointments/consignment/{lot.pk}/waitlist/", {"service": "SIVEP", "date": "2026-12-03"}
    )
    assert WaitlistEntry.objects.get().status == "waiting"


def test_csv_export_of_my_appointments(operator_client, company):
    appointment_book(
        consignment=consignment(company, reference="LOT-CSV"),
        service="SIVEP",
        start=at(THURSDAY, 8),
    )
    response = operator_client.get("/appointments/export.csv?service=SIVEP")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200
    assert "LOT-CSV" in body and "03/12/2026 08:00" in body
    assert operator_client.get("/appointments/export.csv?start_from=x").status_code == 400


def test_another_companys_appointment_and_consignment_are_404(operator_client, other_company):
    theirs = consignment(other_company)
    appointment = appointment_book(consignment=theirs, service="SIVEP", start=at(THURSDAY, 8))
    for path in (
        f"/appointments/{appointment.pk}/",
        f"/appointments/{appointment.pk}/calendar.ics",
        f"/appointments/{appointment.pk}/reschedule/",
        f"/appointments/{appointment.pk}/cancel/",
        f"/appointments/consignment/{theirs.pk}/book/?service=SIVEP",
    ):
        assert operator_client.get(path).status_code == 404, path
    response = operator_client.post(f"/appointments/{appointment.pk}/cancel/", {})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert theirs.reference not in operator_client.get("/appointments/").content.decode()


def test_feed_subscription_follows_changes_and_can_be_revoked(operator_client, company):
    appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    operator_client.post("/appointments/feeds/")
    page = operator_client.get("/appointments/").content.decode()
    url = page.split('data-testid="feed-url">')[1].split("<")[0]
    path = url.replace("http://testserver", "")
    anonymous = Client()
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) == 1
    assert "feed-url" not in operator_client.get("/appointments/").content.decode()  # once
    token = FeedToken.objects.get()
    operator_client.post(f"/appointments/feeds/{token.pk}/revoke/")
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/appointments/feed/not-a-token.ics").status_code == 404


def test_agent_needs_the_second_factor(client):
    agent = AgentFactory()
    client.force_login(agent.user)
    assert client.get("/appointments/agenda/").status_code == 302


def test_agent_runs_the_day_of_the_post(company):
    lot = consignment(company)
    appointment = appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    agent = agent_client("sivep")
    page = agent.get("/appointments/agenda/?date=2026-12-03")
    assert page.status_code == 200 and lot.reference in page.content.decode()
    agent.post(f"/appointments/agenda/{appointment.pk}/check-in/")
    agent.post(
        f"/appointments/agenda/{appointment.pk}/complete/",
        {"check": "physical", "result": "compliant", "note": "OK"},
    )
    appointment.refresh_from_db()
    assert (appointment.status, appointment.result) == ("completed", "compliant")
    event = Event.objects.get(consignment=lot)
    agent_user = User.objects.get(pk=agent.session["_auth_user_id"])
    assert (event.kind, event.author) == ("physical_check", agent_user.email)


def test_agents_of_another_post_or_service_get_404(company):
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    for client in (agent_client("sivep", "FRMRS4"), agent_client("customs", "FRLEH4")):
        response = client.post(f"/appointments/agenda/{appointment.pk}/check-in/")
        assert response.status_code == 404
    other = agent_client("sivep", "FRMRS4")
    assert "APPT-" not in other.get("/appointments/agenda/?date=2026-12-03").content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_agent_declares_a_closure_and_changes_the_calendar(company):
    appointment = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
    )
    agent = agent_client("sivep")
    response = agent.post(
        "/appointments/closures/",
        {
            "service": "SIVEP",
            "starts_at": "2026-12-03T00:00",
            "ends_at": "2026-12-03T23:59",
            "reason": "Grève",
        },
    )
    assert response.status_code == 302
    assert Closure.objects.get().reason == "Grève"
    appointment.refresh_from_db()
    assert appointment.status == "missed_by_authority" and appointment.reason == "post_closed"
    bad = agent.post(
        "/appointments/closures/",
        {
            "service": "",
            "starts_at": "2026-12-03T10:00",
            "ends_at": "2026-12-03T09:00",
            "reason": "x",
        },
    )
    assert bad.status_code == 400 and Closure.objects.count() == 1
    assert agent.get("/appointments/calendar/").status_code == 200
    saved = agent.post(
        "/appointments/calendar/",
        {
            "hours": "mon-fri 08:00-12:00; sat 08:00-10:00",
            "slot_minutes": 20,
            "capacity": 3,
            "notice_hours": 12,
            "horizon_days": 30,
        },
    )
    assert saved.status_code == 302
    cal = AppointmentCalendar.objects.get(post__code="FRLEH4", service="SIVEP")
    assert (cal.hours, cal.slot_minutes, cal.capacity) == (
        "mon-fri 08:00-12:00; sat 08:00-10:00",
        20,
        3,
    )
    bad = agent.post(
        "/appointments/calendar/",
        {
            "hours": "lun 8h",
            "slot_minutes": 20,
            "capacity": 3,
            "notice_hours": 1,
            "horizon_days": 1,
        },
    )
    assert bad.status_code == 400
    assert agent.get("/appointments/waitlist/?date=2026-12-03").status_code == 200
