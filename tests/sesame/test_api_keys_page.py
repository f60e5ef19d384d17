"""The API keys page: company administrators list, create (shown once) and revoke keys."""

import pytest
from django.urls import reverse

from sesame.models import APIKey
from sesame.services import api_key_create

pytestmark = pytest.mark.django_db


def test_admin_creates_a_scoped_key_shown_once(client, company, company_admin, api):
    client.force_login(company_admin)
    response = client.post(
        reverse("company-api-keys"), {"name": "ERP", "scopes": ["declarations:write", "keys:read"]}
    )
    assert response.status_code == 200
    text = response.content.decode()
    key = APIKey.objects.get(company=company, name="ERP")
    assert key.scopes == ["declarations:write", "keys:read"]
    clear = response.context["created"]["clear"]
    assert clear in text and clear.startswith(key.prefix + ".")
    assert "Copiez-la maintenant" in text
    assert api(clear).get("/api/v1/declarations/").status_code == 200
    again = client.get(reverse("company-api-keys")).content.decode()
    assert clear not in again and key.prefix in again
    assert "Déclarations en douane : lecture et écriture" in again


def test_admin_must_choose_a_scope(client, company, company_admin):
    client.force_login(company_admin)
    response = client.post(reverse("company-api-keys"), {"name": "ERP"})
    assert response.status_code == 400
    assert not APIKey.objects.filter(company=company).exists()


def test_admin_revokes_a_key_of_the_company(client, company, company_admin, api):
    key, raw = api_key_create(company=company, name="old")
    client.force_login(company_admin)
    response = client.post(reverse("company-api-key-revoke", args=[key.prefix]))
    assert response.status_code == 302
    assert APIKey.objects.get(pk=key.pk).revoked
    assert api(raw).get("/api/v1/me/").status_code == 401


def test_another_company_key_is_404_on_the_page(client, company_admin, other_company):
    theirs, _ = api_key_create(company=other_company)
    client.force_login(company_admin)
    assert client.post(reverse("company-api-key-revoke", args=[theirs.prefix])).status_code == 404
    assert not APIKey.objects.get(pk=theirs.pk).revoked
    assert theirs.prefix not in client.get(reverse("company-api-keys")).content.decode()


def test_operators_may_not_manage_keys(client, company, operator):
    key, _ = api_key_create(company=company)
    client.force_login(operator)
    assert client.get(reverse("company-api-keys")).status_code == 403
    assert client.post(reverse("company-api-key-revoke", args=[key.prefix])).status_code == 403
    assert not APIKey.objects.get(pk=key.pk).revoked
