"""Inbox and preferences pages: own notifications only, bad input refused with a 4xx."""

import pytest
from django.urls import reverse

from notifications.models import Delivery, PhoneVerification, Preference, Profile
from tests.factories import CompanyFactory
from tests.notifications.conftest import make_consignment, make_member
from tests.notifications.helpers import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_members():
    company, other = CompanyFactory(), CompanyFactory()
    me, them = make_member(company), make_member(other)
    for _ in range(3):
        record(make_consignment(company))
    record(make_consignment(other))
    return me, them


def test_the_inbox_lists_only_my_notifications(client, two_members, django_assert_max_num_queries):
    me, _them = two_members
    client.force_login(me)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3
    assert all(row["delivery"].user_id == me.pk for row in response.context["rows"])
    assert client.get(reverse("notifications:unread-count")).json() == {"unread": 3}


def test_the_inbox_page_does_not_grow_queries_with_notifications(
    client, two_members, django_assert_max_num_queries
):
    me, _ = two_members
    for _ in range(20):
        record(make_consignment(me.memberships.first().company))
    client.force_login(me)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("notifications:inbox")).status_code == 200


def test_marking_one_read_then_all_read(client, two_members):
    me, _ = two_members
    client.force_login(me)
    first = Delivery.objects.filter(user=me, channel="inbox").first()
    assert client.post(reverse("notifications:read", args=[first.pk])).status_code == 302
    assert client.get(reverse("notifications:unread-count")).json() == {"unread": 2}
    assert client.post(reverse("notifications:read-all")).status_code == 302
    assert client.get(reverse("notifications:unread-count")).json() == {"unread": 0}


def test_another_users_notification_is_404_and_stays_unread(client, two_members):
    me, them = two_members
    client.force_login(me)
    theirs = Delivery.objects.get(user=them, channel="inbox")
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    client.post(reverse("notifications:read-all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_takes_only_post(client, two_members):
    me, _ = two_members
    client.force_login(me)
    pk = Delivery.objects.filter(user=me, channel="inbox").first().pk
    assert client.get(reverse("notifications:read", args=[pk])).status_code == 405


def test_unread_count_needs_a_session(client):
    response = client.get(reverse("notifications:unread-count"))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_header_shows_the_unread_badge(client, two_members):
    me, _ = two_members
    client.force_login(me)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert 'data-testid="unread-count"' in page and "notifications/inbox.js" in page


def test_preferences_page_in_both_languages(client, operator):
    client.force_login(operator)
    assert (
        "Notification preferences"
        in client.get(
            reverse("notifications:preferences"), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
    )
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 200
    assert 'name="pref" value="gun_rejection:sms"' in response.content.decode()


def test_saving_preferences_and_quiet_hours(client, operator):
    client.force_login(operator)
    response = client.post(
        reverse("notifications:preferences"),
        {
            "pref": ["release:email", "gun_rejection:inbox"],
            "quiet_start": "22:00",
            "quiet_end": "07:00",
        },
    )
    assert response.status_code == 302
    enabled = set(
        Preference.objects.filter(user=operator, enabled=True).values_list("kind", "channel")
    )
    assert enabled == {("release", "email"), ("gun_rejection", "inbox")}
    profile = Profile.objects.get(user=operator)
    assert (str(profile.quiet_start), str(profile.quiet_end)) == ("22:00:00", "07:00:00")


@pytest.mark.parametrize(
    "data",
    [
        {"pref": ["nonsense:email"]},
        {"pref": ["release:pigeon"]},
        {"pref": ["x" * 5000]},
        {"quiet_start": "25:99", "quiet_end": "07:00"},
        {"quiet_start": "22:00"},
        {"quiet_start": "07:00", "quiet_end": "07:00"},
    ],
)
def test_bad_preferences_are_refused_and_change_nothing(client, operator, data):
    client.force_login(operator)
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 400
    assert not Preference.objects.filter(user=operator).exists()
    assert not Profile.objects.filter(user=operator, quiet_start__isnull=False).exists()


def test_a_phone_is_verified_by_the_code_sent_by_sms(
    client, operator, fake_twilio, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notifications:phone"), {"phone": "+33612345678"})
    assert response.status_code == 302
    [message] = fake_twilio.received("+33612345678")
    code = next(w.rstrip(".") for w in message["body"].split() if w.rstrip(".").isdigit())
    verification = PhoneVerification.objects.get(user=operator)
    assert code not in verification.code_hash
    wrong = "000000" if code != "000000" else "111111"
    assert client.post(reverse("notifications:phone-confirm"), {"code": wrong}).status_code == 400
    assert not Profile.objects.get(user=operator).phone_verified
    assert client.post(reverse("notifications:phone-confirm"), {"code": code}).status_code == 302
    profile = Profile.objects.get(user=operator)
    assert profile.phone_verified and profile.phone == "+33612345678"


def test_a_code_stops_working_after_five_wrong_tries(
    client, operator, fake_twilio, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notifications:phone"), {"phone": "+33612345679"})
    body = fake_twilio.received("+33612345679")[0]["body"]
    code = next(w.rstrip(".") for w in body.split() if w.rstrip(".").isdigit())
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post(reverse("notifications:phone-confirm"), {"code": wrong})
    assert client.post(reverse("notifications:phone-confirm"), {"code": code}).status_code == 400
    assert not Profile.objects.get(user=operator).phone_verified


@pytest.mark.parametrize(
    "phone", ["0612345678", "+0612345678", "+33 6", "x" * 40, "", "+3٣٦١٢٣٤٥٦٧٨"]
)
def test_a_malformed_phone_is_refused(client, operator, phone):
    client.force_login(operator)
    assert client.post(reverse("notifications:phone"), {"phone": phone}).status_code == 400
    assert not PhoneVerification.objects.filter(user=operator).exists()


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_a_malformed_code_is_refused(client, operator, code):
    client.force_login(operator)
    assert client.post(reverse("notifications:phone-confirm"), {"code": code}).status_code == 400
