"""Twilio's status callback: only a valid signature over the public URL moves a delivery."""

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from notifications.models import Delivery
from tests.factories import CompanyFactory
from tests.notifications.conftest import make_consignment, make_member, new_phone
from tests.notifications.helpers import record

pytestmark = pytest.mark.django_db
PATH = "/notifications/twilio/status/"


@pytest.fixture
def sms_delivery():
    company = CompanyFactory()
    user = make_member(company, phone=new_phone())
    delivery = Delivery.objects.get(
        event=record(make_consignment(company)), user=user, channel="sms"
    )
    Delivery.objects.filter(pk=delivery.pk).update(status="queued", provider_id="SM" + "a" * 32)
    delivery.refresh_from_db()
    return delivery


def sign(params, url=None):
    url = url or settings.SITE_URL + PATH
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


def post(client, params, signature):
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature is not None else {}
    return client.post(PATH, params, **headers)


@pytest.mark.parametrize(
    ("statuses", "final"),
    [
        (["sent"], "sent"),
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),  # out of order: never backwards
        (["undelivered"], "undelivered"),
        (["failed"], "failed"),
    ],
)
def test_a_signed_callback_moves_the_delivery(client, sms_delivery, statuses, final):
    for status in statuses:
        params = {"MessageSid": sms_delivery.provider_id, "MessageStatus": status}
        assert post(client, params, sign(params)).status_code == 204
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == final


def _tampered(params):
    return {**params, "MessageStatus": "failed"}, sign(params)


@pytest.mark.parametrize("case", ["tampered_body", "wrong_url", "missing_header", "garbage"])
def test_a_callback_without_a_valid_signature_is_refused_and_changes_nothing(
    client, sms_delivery, case
):
    params = {"MessageSid": sms_delivery.provider_id, "MessageStatus": "delivered"}
    if case == "tampered_body":
        body, signature = {**params, "MessageStatus": "failed"}, sign(params)
    elif case == "wrong_url":
        body, signature = params, sign(params, url="https://evil.example" + PATH)
    elif case == "missing_header":
        body, signature = params, None
    else:
        body, signature = params, "not-a-signature"
    response = post(client, body, signature)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == "queued"


def test_a_callback_for_an_unknown_sid_is_404(client, sms_delivery):
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    assert post(client, params, sign(params)).status_code == 404


def test_a_signed_callback_without_a_status_is_400(client, sms_delivery):
    params = {"MessageSid": sms_delivery.provider_id}
    response = post(client, params, sign(params))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_callback_takes_only_post(client):
    assert client.get(PATH).status_code == 405
