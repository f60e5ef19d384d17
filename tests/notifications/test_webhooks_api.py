"""`/api/v1/webhooks/`: endpoints, secret shown once, rotation, delivery log, dead letters and
replays through the API; another company's endpoint or delivery is 404 on every route."""

import pytest
from standardwebhooks import Webhook

from notifications.webhooks import conf
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks.services import endpoint_deliver, webhook_endpoint_create
from tests.notifications.conftest import make_consignment
from tests.notifications.helpers import record
from tests.notifications.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhooks/"


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


def create(client, url, types=("consignment.event_recorded",)):
    response = client.post(HOOKS, {"url": url, "event_types": list(types)}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_shows_the_secret_once_and_it_signs(api, company, company_key, receiver):
    client = api(company_key)
    created = create(client, receiver.url)
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["consignment.event_recorded"]
    detail = client.get(f"{HOOKS}{created['id']}/").json()
    assert "secret" not in detail
    assert all("secret" not in item for item in client.get(HOOKS).json()["results"])
    record(make_consignment(company), kind="arrival")
    endpoint_deliver(endpoint_id=created["id"])
    request = receiver.received()[0]
    Webhook(created["secret"]).verify(request["body"], request["headers"])


def test_change_pause_and_delete_an_endpoint(api, company_key, receiver):
    client = api(company_key)
    created = create(client, receiver.url)
    url = f"{HOOKS}{created['id']}/"
    changed = client.patch(
        url, {"event_types": ["declaration.released"], "enabled": False}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["declaration.released"]
    assert changed.json()["enabled"] is False
    bad = client.patch(url, {"event_types": ["nothing.happened"]}, format="json")
    assert bad.status_code == 400
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_rotation_through_the_api(api, company, company_key, receiver):
    client = api(company_key)
    created = create(client, receiver.url)
    rotated = client.post(
        f"{HOOKS}{created['id']}/rotate-secret/", {"overlap_seconds": 600}, format="json"
    )
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != created["secret"] and rotated.json()["secret_rotated_at"]
    record(make_consignment(company), kind="arrival")
    endpoint_deliver(endpoint_id=created["id"])
    request = receiver.received()[0]
    for secret in (created["secret"], new):
        Webhook(secret).verify(request["body"], request["headers"])
    too_long = client.post(
        f"{HOOKS}{created['id']}/rotate-secret/", {"overlap_seconds": 10**9}, format="json"
    )
    assert too_long.status_code == 400


def test_delivery_log_dead_letters_and_replay(api, company, company_key, receiver):
    client = api(company_key)
    created = create(client, receiver.url)
    record(make_consignment(company), kind="arrival")
    receiver.answers = [500, 500]
    for _ in range(2):
        endpoint_deliver(endpoint_id=created["id"])
    dead = client.get(f"{HOOKS}{created['id']}/deliveries/", {"status": "dead"}).json()
    assert dead["count"] == 1
    delivery = dead["results"][0]
    assert delivery["status"] == "dead" and delivery["last_status_code"] == 500
    assert delivery["event"]["type"] == "consignment.event_recorded"
    detail = client.get(f"{HOOKS}{created['id']}/deliveries/{delivery['id']}/").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500]
    replay = f"{HOOKS}{created['id']}/deliveries/{delivery['id']}/replay/"
    replayed = client.post(replay, {}, format="json")
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    again = client.post(replay, {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_dead"
    endpoint_deliver(endpoint_id=created["id"])
    assert WebhookDelivery.objects.get(pk=delivery["id"]).status == "delivered"
    assert client.post(f"{HOOKS}{created['id']}/replay-dead/", {}).json() == {"replayed": 0}


def test_another_company_endpoint_is_404_everywhere(
    api, company, company_key, other_company, receiver
):
    theirs, _ = webhook_endpoint_create(
        company=other_company, url=receiver.url, event_types=["consignment.event_recorded"]
    )
    record(make_consignment(other_company), kind="arrival")
    delivery = WebhookDelivery.objects.get(endpoint=theirs)
    client = api(company_key)
    base = f"{HOOKS}{theirs.pk}/"
    answers = [
        client.get(base),
        client.patch(base, {"enabled": False}, format="json"),
        client.delete(base),
        client.post(f"{base}rotate-secret/", {}, format="json"),
        client.post(f"{base}replay-dead/", {}, format="json"),
        client.get(f"{base}deliveries/"),
        client.get(f"{base}deliveries/{delivery.pk}/"),
        client.post(f"{base}deliveries/{delivery.pk}/replay/", {}, format="json"),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(a.json()["code"] == "not_found" for a in answers)
    assert client.get(HOOKS).json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.enabled and WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_a_delivery_of_another_endpoint_is_404_through_mine(api, company, company_key, receiver):
    client = api(company_key)
    mine = create(client, receiver.url)
    other = create(client, receiver.url + "/other")
    record(make_consignment(company), kind="arrival")
    delivery = WebhookDelivery.objects.get(endpoint_id=other["id"])
    response = client.get(f"{HOOKS}{mine['id']}/deliveries/{delivery.pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "http://127.0.0.1/h"},
        {"url": "http://127.0.0.1/h", "event_types": []},
        {"url": "http://127.0.0.1/h", "event_types": "declaration.released"},
        {"url": "x" * 3000, "event_types": ["declaration.released"]},
        {"url": ["http://127.0.0.1/h"], "event_types": ["declaration.released"]},
        [],
    ],
)
def test_bad_bodies_are_400_and_create_nothing(api, company_key, body):
    response = api(company_key).post(HOOKS, body, format="json")
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_event_types_are_listed(api, company_key):
    body = api(company_key).get(f"{HOOKS}event-types/").json()
    codes = [row["code"] for row in body]
    assert "declaration.validated" in codes and "consignment.event_recorded" in codes


def test_webhooks_need_their_scope(api, company):
    from sesame.services import api_key_create

    _key, raw = api_key_create(company=company, scopes=["webhooks:read"])
    assert api(raw).get(HOOKS).status_code == 200
    response = api(raw).post(
        HOOKS, {"url": "http://127.0.0.1/h", "event_types": ["declaration.released"]}
    )
    assert response.status_code == 403 and response.json()["required_scope"] == "webhooks:write"
