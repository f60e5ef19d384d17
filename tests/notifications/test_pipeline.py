"""From a tracking event to outbox rows, and from a row to one provider call (in-process)."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from notifications import conf
from notifications.models import Attempt, Delivery, Preference, Profile
from notifications.preferences import PARIS, quiet_hours_end
from notifications.services import deliveries_create_for_event, delivery_send
from tests.factories import AgentFactory, CompanyFactory
from tests.notifications.conftest import make_consignment, make_member, new_phone
from tests.notifications.helpers import record

pytestmark = pytest.mark.django_db


def rows(event, user=None):
    found = Delivery.objects.filter(event=event)
    if user is not None:
        found = found.filter(user=user)
    return sorted(found.values_list("channel", flat=True))


def test_urgent_event_reaches_every_member_of_the_company_on_their_default_channels():
    company = CompanyFactory()
    operator = make_member(company, phone=new_phone())
    admin = make_member(company, role="admin")
    event = record(make_consignment(company))
    assert rows(event, operator) == ["email", "inbox", "sms"]
    assert rows(event, admin) == ["email", "inbox"]  # no verified phone, no SMS


def test_a_member_of_another_company_never_receives_the_event():
    company, other = CompanyFactory(), CompanyFactory()
    stranger = make_member(other, role="admin", phone=new_phone())
    event = record(make_consignment(company))
    assert rows(event, stranger) == []
    assert not Delivery.objects.filter(user=stranger).exists()


def test_an_unverified_phone_never_receives_an_sms():
    company = CompanyFactory()
    user = make_member(company)
    Profile.objects.create(user=user, phone=new_phone())  # never verified
    event = record(make_consignment(company))
    assert "sms" not in rows(event, user)


def test_explicit_preferences_override_the_role_defaults():
    company = CompanyFactory()
    user = make_member(company, phone=new_phone())
    Preference.objects.create(user=user, kind="gun_rejection", channel="email", enabled=False)
    Preference.objects.create(user=user, kind="release", channel="sms", enabled=True)
    assert rows(record(make_consignment(company)), user) == ["inbox", "sms"]
    release = record(make_consignment(company), kind="release")
    assert rows(release, user) == ["email", "inbox", "sms"]


def test_an_event_no_notification_kind_follows_writes_nothing():
    company = CompanyFactory()
    make_member(company, role="admin", phone=new_phone())
    event = record(make_consignment(company), kind="arrival", source="PORT")
    assert rows(event) == []


def test_a_passing_gun_result_is_not_a_rejection():
    company = CompanyFactory()
    make_member(company, role="admin")
    ok = record(make_consignment(company), kind="gun_result", payload={"outcome": "ok"})
    ko = record(make_consignment(company), kind="gun_result", payload={"outcome": "ko"})
    assert rows(ok) == []
    assert set(rows(ko)) == {"email", "inbox"}


def test_agents_of_the_post_hear_that_a_control_is_required():
    from sesame.models import BorderControlPost

    company = CompanyFactory()
    post = BorderControlPost.objects.get(code="FRLEH4")
    agent = AgentFactory(post=post).user
    elsewhere = AgentFactory(post=BorderControlPost.objects.get(code="FRMRS4")).user
    consignment = make_consignment(company, post=post)
    event = record(consignment, kind="declaration_controlled")
    assert rows(event, agent) == ["email", "inbox"]
    assert rows(event, elsewhere) == []
    assert rows(record(consignment), agent) == []  # a rejection is the company's business


def test_the_same_event_twice_gives_one_notification_per_person_and_channel():
    company = CompanyFactory()
    user = make_member(company, phone=new_phone())
    consignment = make_consignment(company)
    source_event_id = uuid.uuid4().hex
    event = record(consignment, source_event_id=source_event_id)
    again = record(consignment, source_event_id=source_event_id)
    assert again.pk == event.pk
    deliveries_create_for_event(event=event)  # the receiver itself run twice
    assert rows(event, user) == ["email", "inbox", "sms"]


@pytest.mark.parametrize(
    ("start", "end", "local_now", "held_until"),
    [
        ("22:00", "07:00", "2026-03-10 23:30", "2026-03-11 07:00"),
        ("22:00", "07:00", "2026-03-10 03:00", "2026-03-10 07:00"),
        ("22:00", "07:00", "2026-03-10 07:00", None),
        ("22:00", "07:00", "2026-03-10 12:00", None),
        ("12:00", "14:00", "2026-03-10 12:00", "2026-03-10 14:00"),
        ("12:00", "14:00", "2026-03-10 14:00", None),
    ],
)
def test_quiet_hours_end(start, end, local_now, held_until):
    profile = Profile(
        quiet_start=dt.time.fromisoformat(start), quiet_end=dt.time.fromisoformat(end)
    )
    now = dt.datetime.fromisoformat(local_now).replace(tzinfo=PARIS)
    expected = dt.datetime.fromisoformat(held_until).replace(tzinfo=PARIS) if held_until else None
    assert quiet_hours_end(profile=profile, now=now) == expected


def _quiet_now(user):
    now = timezone.now().astimezone(PARIS)
    profile = user.notification_profile
    profile.quiet_start = (now - dt.timedelta(hours=1)).time().replace(microsecond=0)
    profile.quiet_end = (now + dt.timedelta(hours=1)).time().replace(microsecond=0)
    profile.save()


def test_quiet_hours_hold_a_non_urgent_sms_but_not_an_urgent_one():
    company = CompanyFactory()
    user = make_member(company, role="admin", phone=new_phone())  # admins: SMS on release
    _quiet_now(user)
    release = record(make_consignment(company), kind="release")
    held = Delivery.objects.get(event=release, user=user, channel="sms")
    assert held.not_before is not None and held.not_before > timezone.now()
    assert delivery_send(delivery_id=held.pk) is None
    held.refresh_from_db()
    assert (held.status, held.attempts) == ("pending", 0)  # not due: not claimed
    assert Delivery.objects.get(event=release, user=user, channel="email").not_before is None
    rejection = record(make_consignment(company))
    assert Delivery.objects.get(event=rejection, user=user, channel="sms").not_before is None


def _sms_row(company, phone=None):
    user = make_member(company, phone=phone or new_phone())
    event = record(make_consignment(company))
    return Delivery.objects.get(event=event, user=user, channel="sms")


def test_an_sms_goes_through_the_real_twilio_client_and_its_sid_is_kept(fake_twilio):
    delivery = _sms_row(CompanyFactory())
    assert delivery_send(delivery_id=delivery.pk) is None
    [message] = fake_twilio.received(delivery.address)
    assert delivery.event.consignment.reference in message["body"]
    assert message["body"].startswith("Sesame : la déclaration")
    assert message["status_callback"].endswith("/notifications/twilio/status/")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_id) == ("queued", message["sid"])
    [attempt] = delivery.attempt_set.all()
    assert (attempt.outcome, attempt.provider_id) == ("ok", message["sid"])
    assert attempt.finished_at >= attempt.started_at
    assert delivery_send(delivery_id=delivery.pk) is None  # no second call
    assert len(fake_twilio.requests) == 1


@pytest.mark.parametrize("failure", ["500", "429", "hang"])
def test_a_transient_failure_is_retried_and_succeeds_once(fake_twilio, failure):
    delivery = _sms_row(CompanyFactory())
    fake_twilio.program(delivery.address, failure)
    delay = delivery_send(delivery_id=delivery.pk)
    assert delay is not None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error
    assert delivery_send(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "queued"
    [message] = fake_twilio.received(delivery.address)  # once, even after a lost answer
    assert delivery.provider_id == message["sid"]
    outcomes = list(delivery.attempt_set.values_list("outcome", flat=True))
    assert outcomes == ["transient", "adopted" if failure == "hang" else "ok"]


def test_a_permanent_error_is_not_retried_and_shows_as_failed(fake_twilio):
    delivery = _sms_row(CompanyFactory())
    fake_twilio.program(delivery.address, "21211")
    assert delivery_send(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "21211" in delivery.last_error
    assert delivery_send(delivery_id=delivery.pk) is None
    assert len(fake_twilio.requests) == 1
    assert fake_twilio.received(delivery.address) == []


def test_after_the_last_attempt_the_delivery_fails(fake_twilio, monkeypatch):
    monkeypatch.setattr(conf, "MAX_ATTEMPTS", 3)
    delivery = _sms_row(CompanyFactory())
    fake_twilio.program(delivery.address, "500", "500", "500", "500")
    results = [delivery_send(delivery_id=delivery.pk) for _ in range(4)]
    assert results[:2] != [None, None] and results[2:] == [None, None]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(fake_twilio.requests) == 3


def test_a_sending_row_left_by_a_crash_mid_call_is_found_at_twilio_not_sent_again(fake_twilio):
    delivery = _sms_row(CompanyFactory())
    fake_twilio.delay = 0  # the first call reaches Twilio; its answer is lost with the worker
    from notifications.rendering import message_texts
    from notifications.sms import send

    _, body = message_texts(kind_code=delivery.kind, event=delivery.event, language="fr")
    lost = send(to=delivery.address, body=body)
    past = timezone.now() - dt.timedelta(minutes=5)
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", attempts=1, lease_until=past)
    Attempt.objects.create(delivery=delivery, number=1, started_at=past)  # never finished
    assert delivery_send(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_id) == ("queued", lost.sid)
    assert len(fake_twilio.received(delivery.address)) == 1


def test_a_sending_row_whose_sid_is_stored_is_never_sent_again(fake_twilio):
    delivery = _sms_row(CompanyFactory())
    past = timezone.now() - dt.timedelta(minutes=5)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", attempts=1, lease_until=past, provider_id="SM" + "1" * 32
    )
    assert delivery_send(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "queued"
    assert fake_twilio.requests == []


def test_a_claimed_row_within_its_lease_is_left_alone(fake_twilio):
    delivery = _sms_row(CompanyFactory())
    future = timezone.now() + dt.timedelta(minutes=5)
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", lease_until=future)
    assert delivery_send(delivery_id=delivery.pk) is None
    assert fake_twilio.requests == []


def test_an_email_reaches_a_real_smtp_server_in_the_recipient_language(smtp, settings):
    company = CompanyFactory()
    english = make_member(company, role="admin", language="en")
    french = make_member(company, role="admin")
    event = record(make_consignment(company, reference="LOT-EMAIL-1"))
    for user in (english, french):
        delivery = Delivery.objects.get(event=event, user=user, channel="email")
        assert delivery_send(delivery_id=delivery.pk) is None
        delivery.refresh_from_db()
        assert delivery.status == "sent", delivery.last_error
    [en] = smtp.to(english.email)
    [fr] = smtp.to(french.email)
    assert en["Subject"].strip() == "[Sesame] Declaration rejected — LOT-EMAIL-1"
    assert fr["Subject"].strip() == "[Sesame] Déclaration rejetée — LOT-EMAIL-1"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in en.walk()
        if not part.is_multipart()
    }
    link = f"{settings.SITE_URL}/tracking/{event.consignment.pk}/"
    assert set(parts) == {"text/plain", "text/html"}
    assert link in parts["text/plain"] and f'href="{link}"' in parts["text/html"]
    assert "was rejected" in parts["text/plain"]


def test_an_smtp_server_that_is_down_is_a_transient_error(settings):
    from tests.notifications.fakes import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    company = CompanyFactory()
    user = make_member(company, role="admin")
    delivery = Delivery.objects.get(
        event=record(make_consignment(company)), user=user, channel="email"
    )
    assert delivery_send(delivery_id=delivery.pk) is not None or conf.BACKOFF_SECONDS > 60
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
