"""Webhooks go to public addresses only (server-side request forgery), checked when a URL is
subscribed and again at delivery time against what the name resolves to then."""

import socket

import pytest
from django.core.exceptions import ValidationError

from notifications.webhooks import conf, destinations
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks.services import endpoint_deliver, webhook_endpoint_create
from tests.notifications.conftest import make_consignment
from tests.notifications.helpers import record
from tests.notifications.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8000/hook", "address_not_allowed"),
        ("http://localhost/hook", "address_not_allowed"),
        ("http://10.1.2.3/hook", "address_not_allowed"),
        ("http://172.16.0.9/hook", "address_not_allowed"),
        ("http://192.168.1.10/hook", "address_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("http://100.64.0.1/hook", "address_not_allowed"),
        ("http://0.0.0.0/hook", "address_not_allowed"),
        ("http://[::1]/hook", "address_not_allowed"),
        ("http://[fe80::1]/hook", "address_not_allowed"),
        ("http://[fd00::1]/hook", "address_not_allowed"),
        ("http://[::ffff:127.0.0.1]/hook", "address_not_allowed"),
        ("http://224.0.0.1/hook", "address_not_allowed"),
        ("http://user:secret@93.184.216.34/hook", "credentials_in_url"),
        ("ftp://93.184.216.34/hook", "scheme_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("http://no-such-host.invalid/hook", "unresolvable_host"),
        ("http:///hook", "invalid_url"),
        ("http://93.184.216.34:99999/hook", "invalid_url"),
    ],
)
def test_non_public_or_malformed_urls_are_refused(company, settings, url, code):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_HTTPS_ONLY = False
    with pytest.raises(ValidationError) as error:
        webhook_endpoint_create(company=company, url=url, event_types=["declaration.released"])
    assert error.value.error_dict["url"][0].code == code
    assert not WebhookEndpoint.objects.exists()


def test_https_only_refuses_plain_http(company, settings):
    settings.WEBHOOK_HTTPS_ONLY = True
    with pytest.raises(ValidationError) as error:
        webhook_endpoint_create(
            company=company, url=f"http://{PUBLIC}/hook", event_types=["declaration.released"]
        )
    assert error.value.error_dict["url"][0].code == "scheme_not_allowed"
    endpoint, _ = webhook_endpoint_create(
        company=company, url=f"https://{PUBLIC}/hook", event_types=["declaration.released"]
    )
    assert endpoint.url.startswith("https://")


def test_the_api_answers_a_refused_url_with_its_code(api, company_key, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = api(company_key).post(
        "/api/v1/webhooks/",
        {"url": "http://169.254.169.254/", "event_types": ["declaration.released"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["url"][0]["code"] == "address_not_allowed"


def test_the_development_setting_lets_local_receivers_in(company, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    endpoint, _ = webhook_endpoint_create(
        company=company, url="http://127.0.0.1:8000/hook", event_types=["declaration.released"]
    )
    assert endpoint.pk


@pytest.fixture
def dns(monkeypatch):
    """The resolver's answers for one name (DNS is outside the machine: replaced at the
    socket boundary); every other name resolves as usual."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_rebound_to_a_private_address_after_the_check_is_not_called(
    company, settings, dns, monkeypatch
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    monkeypatch.setattr(conf, "TIMEOUT", 2.0)
    receiver = Receiver()  # an internal service on 127.0.0.1
    try:
        dns["hooks.example.test"] = PUBLIC
        endpoint, _ = webhook_endpoint_create(
            company=company,
            url=f"http://hooks.example.test:{receiver.port}/hooks",
            event_types=["consignment.event_recorded"],
        )
        dns["hooks.example.test"] = "127.0.0.1"  # rebound once subscribed
        record(make_consignment(company), kind="arrival")
        endpoint_deliver(endpoint_id=endpoint.pk)
        assert receiver.received() == []
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == "pending" and "127.0.0.1" in delivery.last_error
        attempt = delivery.attempt_set.get()
        assert attempt.status_code is None and "127.0.0.1" in attempt.error
        # The same delivery with private addresses allowed reaches it: the check is what
        # stopped it.
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
        WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=delivery.created_at)
        endpoint_deliver(endpoint_id=endpoint.pk)
        [request] = receiver.received()
        assert request["headers"]["host"] == f"hooks.example.test:{receiver.port}"
    finally:
        receiver.close()


def test_the_call_goes_to_the_address_checked(settings, dns):
    """One resolution per round: the address checked is the address called."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    dns["hooks.example.test"] = PUBLIC
    destination = destinations.resolve("https://hooks.example.test/in?x=1")
    assert destination.address == PUBLIC
    assert destination.host_header == "hooks.example.test"
    assert destination.target == "/in?x=1"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "169.254.1.1", "::1", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"],  # noqa: S104
)
def test_a_name_with_any_internal_address_is_refused(settings, dns, address):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    dns["mixed.example.test"] = address
    with pytest.raises(destinations.UnsafeDestination) as error:
        destinations.resolve("https://mixed.example.test/")
    assert error.value.code == "address_not_allowed"
