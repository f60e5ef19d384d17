"""A company administrator, in a real browser, creates a scoped API key and subscribes a webhook
endpoint: each secret is shown once, then never again."""

import pytest
from playwright.sync_api import expect

from notifications.webhooks.models import WebhookEndpoint
from sesame.models import APIKey
from tests.factories import MembershipFactory
from tests.sesame.test_browser_login import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_key_and_a_webhook_in_the_browser(page, live_server, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    admin = MembershipFactory(role="admin")
    sign_in(page, live_server.url, admin.user.email)
    page.wait_for_url(f"{live_server.url}/dashboard/")

    page.goto(f"{live_server.url}/company/members/")
    page.get_by_role("link", name="Clés d'API").click()
    page.get_by_label("Nom").fill("ERP")
    # DSFR draws the box on the label: a person clicks the label.
    page.get_by_text("Déclarations en douane : lecture et écriture", exact=True).click()
    page.get_by_role("button", name="Créer la clé").click()
    clear = page.get_by_test_id("new-key-value").inner_text()
    key = APIKey.objects.get(company=admin.company, name="ERP")
    assert clear.startswith(key.prefix + ".") and key.scopes == ["declarations:write"]
    page.goto(f"{live_server.url}/company/api-keys/")
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert clear not in page.content()
    expect(page.get_by_test_id("api-keys")).to_contain_text("Déclarations en douane")

    page.goto(f"{live_server.url}/company/members/")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_text("Déclaration validée par le GUN", exact=True).click()
    page.get_by_text("Bon à enlever (BAE) accordé", exact=True).click()
    page.get_by_role("button", name="Ajouter la destination").click()
    secret = page.get_by_test_id("secret-value").inner_text()
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(company=admin.company)
    assert endpoint.event_types == ["declaration.validated", "declaration.released"]
    page.get_by_role("link", name="http://127.0.0.1:9/hooks").click()
    expect(page.get_by_test_id("deliveries")).to_contain_text("Rien n'a encore été livré")
    page.get_by_role("button", name="Renouveler le secret de signature").click()
    renewed = page.get_by_test_id("secret-value").inner_text()
    assert renewed.startswith("whsec_") and renewed != secret
