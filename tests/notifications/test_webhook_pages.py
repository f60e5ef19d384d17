"""The webhooks pages: company administrators subscribe, see the delivery log and dead letters,
replay, rotate the secret; operators may not; another company's endpoint is 404."""

import pytest
from django.urls import reverse

from notifications.webhooks import conf
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks.services import endpoint_deliver, webhook_endpoint_create
from tests.notifications.conftest import make_consignment
from tests.notifications.helpers import record
from tests.notifications.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _local(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    monkeypatch.setattr(conf, "RETRY_SCHEDULE", [0.0])
    monkeypatch.setattr(conf, "TIMEOUT", 2.0)


def test_admin_subscribes_and_sees_the_secret_once(client, company, company_admin, receiver):
    client.force_login(company_admin)
    response = client.post(
        reverse("notifications:webhooks"),
        {
            "url": receiver.url,
            "description": "ERP",
            "event_types": ["declaration.validated", "declaration.rejected"],
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(company=company)
    assert endpoint.event_types == ["declaration.validated", "declaration.rejected"]
    secret = response.context["created"]["secret"]
    text = response.content.decode()
    assert secret in text and "Copiez-le maintenant" in text
    listing = client.get(reverse("notifications:webhooks")).content.decode()
    assert secret not in listing and receiver.url in listing


def test_a_refused_url_is_explained_and_nothing_is_created(client, company_admin, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    client.force_login(company_admin)
    response = client.post(
        reverse("notifications:webhooks"),
        {"url": "http://169.254.169.254/", "event_types": ["declaration.validated"]},
    )
    assert response.status_code == 400
    assert (
        "adresses publiques" in response.content.decode() or "public" in response.content.decode()
    )
    assert not WebhookEndpoint.objects.exists()


def test_the_log_shows_dead_letters_which_are_replayed(client, company, company_admin, receiver):
    endpoint, _ = webhook_endpoint_create(
        company=company, url=receiver.url, event_types=["consignment.event_recorded"]
    )
    record(make_consignment(company), kind="arrival")
    receiver.answers = [500, 500]
    endpoint_deliver(endpoint_id=endpoint.pk)
    endpoint_deliver(endpoint_id=endpoint.pk)
    client.force_login(company_admin)
    page = client.get(reverse("notifications:webhook", args=[endpoint.pk]))
    text = page.content.decode()
    assert "Échec définitif" in text and "HTTP 500" in text
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    detail = client.get(reverse("notifications:webhook-delivery", args=[endpoint.pk, delivery.pk]))
    assert [a.status_code for a in detail.context["attempts"]] == [500, 500]
    assert "Identifiant du message (webhook-id) : evt_" in detail.content.decode()
    response = client.post(
        reverse("notifications:webhook-delivery-replay", args=[endpoint.pk, delivery.pk])
    )
    assert response.status_code == 302
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_admin_renews_the_secret_and_pauses_the_endpoint(client, company, company_admin, receiver):
    endpoint, old = webhook_endpoint_create(
        company=company, url=receiver.url, event_types=["consignment.event_recorded"]
    )
    client.force_login(company_admin)
    response = client.post(reverse("notifications:webhook-rotate", args=[endpoint.pk]))
    secret = response.context["secret"]
    assert secret != old and secret in response.content.decode()
    response = client.post(
        reverse("notifications:webhook", args=[endpoint.pk]),
        {"url": receiver.url, "event_types": ["declaration.released"], "description": ""},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and endpoint.event_types == ["declaration.released"]


def test_the_log_page_costs_the_same_whatever_its_rows(
    client, company, company_admin, receiver, django_assert_max_num_queries
):
    endpoint, _ = webhook_endpoint_create(
        company=company, url=receiver.url, event_types=["consignment.event_recorded"]
    )
    client.force_login(company_admin)
    url = reverse("notifications:webhook", args=[endpoint.pk])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    record(make_consignment(company), kind="arrival")
    few = cost()
    for _ in range(8):
        record(make_consignment(company), kind="arrival")
    assert cost() == few


def test_operators_may_not_manage_webhooks(client, company, operator, receiver):
    endpoint, _ = webhook_endpoint_create(
        company=company, url=receiver.url, event_types=["declaration.released"]
    )
    client.force_login(operator)
    assert client.get(reverse("notifications:webhooks")).status_code == 403
    assert (
        client.post(reverse("notifications:webhook-delete", args=[endpoint.pk])).status_code == 403
    )
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_another_company_endpoint_is_404_on_every_page(
    client, company_admin, other_company, receiver
):
    theirs, _ = webhook_endpoint_create(
        company=other_company, url=receiver.url, event_types=["consignment.event_recorded"]
    )
    record(make_consignment(other_company), kind="arrival")
    delivery = WebhookDelivery.objects.get(endpoint=theirs)
    client.force_login(company_admin)
    pages = [
        client.get(reverse("notifications:webhook", args=[theirs.pk])),
        client.post(reverse("notifications:webhook", args=[theirs.pk]), {"url": "x"}),
        client.post(reverse("notifications:webhook-rotate", args=[theirs.pk])),
        client.post(reverse("notifications:webhook-delete", args=[theirs.pk])),
        client.post(reverse("notifications:webhook-replay-dead", args=[theirs.pk])),
        client.get(reverse("notifications:webhook-delivery", args=[theirs.pk, delivery.pk])),
        client.post(
            reverse("notifications:webhook-delivery-replay", args=[theirs.pk, delivery.pk])
        ),
    ]
    assert [page.status_code for page in pages] == [404] * len(pages)
    assert WebhookEndpoint.objects.filter(pk=theirs.pk, enabled=True).exists()
    assert theirs.url not in client.get(reverse("notifications:webhooks")).content.decode()
