"""API base: key authentication, /me/, error bodies, the OpenAPI document."""

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from sesame.models import APIKey
from sesame.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def test_no_key_is_401_with_a_stable_code(api) -> None:
    response = api().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Api-Key nonsense", "api_key_unknown"),
        ("Api-Key abc.def", "api_key_unknown"),
        ("Bearer abc.def", "bad_authorization_header"),
        ("Api-Key", "bad_authorization_header"),
        ("Api-Key " + "x" * 500 + "." + "y", "api_key_unknown"),
    ],
)
def test_bad_key_is_401(header: str, code: str) -> None:
    client = APIClient()
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_right_prefix_wrong_secret_is_401(api, company_key: str) -> None:
    prefix = company_key.split(".")[0]
    response = api(prefix + ".wrongsecret").get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_unknown"


def test_revoked_key_is_401(api, company) -> None:
    key, raw = api_key_create(company=company)
    api_key_revoke(key=key)
    response = api(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"


def test_company_key_reads_its_company(api, company, company_key: str) -> None:
    body = api(company_key).get("/api/v1/me/").json()
    assert body["kind"] == "company"
    assert body["company"] == {"eori": company.eori, "name": company.name}
    assert body["partner"] is None


def test_partner_key_reads_its_partner(api, partner_key) -> None:
    body = api(partner_key("SEMAE")).get("/api/v1/me/").json()
    assert body["kind"] == "partner"
    assert body["company"] is None
    assert body["partner"] == "SEMAE"


def test_key_must_belong_to_a_company_or_a_partner_not_both(company) -> None:
    from django.db import IntegrityError, transaction

    with transaction.atomic(), pytest.raises(IntegrityError):
        APIKey.objects.create_key(name="both", company=company, partner="SEMAE")
    with transaction.atomic(), pytest.raises(IntegrityError):
        APIKey.objects.create_key(name="neither")


def test_unknown_api_path_is_a_json_404(api, company_key: str) -> None:
    response = api(company_key).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_method_not_allowed_has_the_error_shape(api, company_key: str) -> None:
    response = api(company_key).post("/api/v1/me/", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_openapi_document_is_valid_openapi_3(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    assert "/api/v1/me/" in schema["paths"]
    assert "ApiKey" in schema["components"]["securitySchemes"]


def test_api_docs_page_is_served(client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.django_db(transaction=True)
def test_me_shows_the_company_as_it_is_now_even_from_a_cached_key(api, company) -> None:
    """Keys are cached per process (outside transactions); /me/ still reads the company."""
    from sesame.api import authentication

    _key, raw = api_key_create(company=company)
    client = api(raw)
    assert client.get("/api/v1/me/").json()["company"]["name"] == company.name
    assert any(hit[2].company_id == company.pk for hit in authentication._keys.values())
    type(company).objects.filter(pk=company.pk).update(name="Renamed Freight")
    assert client.get("/api/v1/me/").json()["company"] == {
        "eori": company.eori,
        "name": "Renamed Freight",
    }
