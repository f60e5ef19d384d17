"""Key scopes: every endpoint needs read or write on its family, derived from the view."""

import importlib

import pytest
from django.core.exceptions import ValidationError

from sesame.api import scopes
from sesame.models import APIKey
from sesame.services import api_key_create

pytestmark = pytest.mark.django_db


def key_with(company, *granted: str) -> str:
    # Made directly: the test endpoints' families are not in the portal's URL configuration.
    return APIKey.objects.create_key(name="scoped", company=company, scopes=list(granted))[1]


@pytest.mark.parametrize(
    ("granted", "method", "path", "status"),
    [
        (["declarations:read"], "get", "/api/v1/declarations/", 200),
        (["declarations:read"], "post", "/api/v1/declarations/", 403),
        (["declarations:write"], "get", "/api/v1/declarations/", 200),
        (["consignments:read"], "get", "/api/v1/declarations/", 403),
        (["consignments:write"], "get", "/api/v1/consignments/", 200),
        (["read"], "get", "/api/v1/consignments/", 200),
        (["read"], "post", "/api/v1/consignments/", 403),
        (["write"], "get", "/api/v1/keys/", 200),
        (["consignments:read"], "get", "/api/v1/keys/", 403),
        (["consignments:read"], "get", "/api/v1/me/", 200),
        ([], "get", "/api/v1/me/", 200),
        ([], "get", "/api/v1/consignments/", 403),
    ],
)
def test_each_endpoint_needs_its_family_and_action(api, company, granted, method, path, status):
    response = getattr(api(key_with(company, *granted)), method)(path, {}, format="json")
    if status == 403:
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "insufficient_scope"
        family = path.split("/")[3]
        action = "read" if method == "get" else "write"
        assert body["required_scope"] == f"{family}:{action}"
    else:
        assert response.status_code != 403, response.json()


@pytest.mark.urls("tests.sesame.urls_new_endpoint")
def test_an_endpoint_that_says_nothing_is_covered_by_its_path(api, company):
    assert api(key_with(company, "declarations:write")).get("/api/v1/widgets/").status_code == 403
    reader = api(key_with(company, "widgets:read"))
    assert reader.get("/api/v1/widgets/").status_code == 200
    refused = reader.post("/api/v1/widgets/", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "widgets:write"
    assert api(key_with(company, "write")).post("/api/v1/widgets/", {}).status_code == 201


@pytest.mark.urls("tests.sesame.urls_new_endpoint")
def test_a_view_may_name_its_family_and_action(api, company):
    """A POST that only reads (a search) declares it; its family is the one it names."""
    reader = api(key_with(company, "declarations:read"))
    assert reader.post("/api/v1/declarations-search/", {}, format="json").status_code == 200
    other = api(key_with(company, "consignments:write"))
    response = other.post("/api/v1/declarations-search/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["required_scope"] == "declarations:read"


def test_partner_keys_have_scopes_too(api):
    _key, raw = api_key_create(partner="SEMAE", scopes=["tracking:write"])
    response = api(raw).post("/api/v1/partner-documents/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["required_scope"] == "partner-documents:write"


def test_new_keys_have_full_scopes_unless_told(company):
    key, _raw = api_key_create(company=company)
    assert key.scopes == ["read", "write"]
    key, _raw = api_key_create(company=company, scopes=["declarations:write", "keys:read"])
    assert key.scopes == ["declarations:write", "keys:read"]


@pytest.mark.parametrize("bad", [[], ["declarations:delete"], ["nothing:read"], ["admin"]])
def test_unknown_or_no_scopes_are_refused(company, bad):
    with pytest.raises(ValidationError) as error:
        api_key_create(company=company, scopes=bad)
    assert "scopes" in error.value.message_dict
    assert not APIKey.objects.filter(company=company).exists()


def test_the_families_come_from_the_url_configuration():
    families = scopes.families()
    assert {"declarations", "consignments", "partner-documents", "tracking", "keys"} <= set(
        families
    )
    assert "me" not in families
    assert "declarations:write" in scopes.choices()


def test_keys_made_before_scopes_get_full_scopes(company):
    migration = importlib.import_module("sesame.migrations.0004_api_key_scopes_last_used")
    old, _raw = api_key_create(company=company)
    APIKey.objects.filter(pk=old.pk).update(scopes=[])
    restricted, _raw = api_key_create(company=company, scopes=["declarations:read"])
    from django.apps import apps

    migration.full_scopes_for_existing_keys(apps, None)
    assert APIKey.objects.get(pk=old.pk).scopes == ["read", "write"]
    assert APIKey.objects.get(pk=restricted.pk).scopes == ["declarations:read"]
