"""Malformed, oversized or hostile bodies get a precise 4xx and change nothing."""

import pytest
from django.test import override_settings

from sesame.models import Company

pytestmark = pytest.mark.django_db
ENDPOINT = "/api/v1/declarations/"


def post_raw(client, key: str, body: bytes, content_type: str = "application/json"):
    return client.post(
        ENDPOINT, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Api-Key {key}"
    )


@pytest.mark.parametrize(
    "body",
    [b"{", b"{'single': 'quotes'}", b"[1, 2,]", b"\xff\xfe", b'{"a": NaN}', b"nul"],
)
def test_malformed_json_is_400_with_a_code(client, company_key: str, body: bytes) -> None:
    from gun.models import Declaration

    response = post_raw(client, company_key, body)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert not Declaration.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_body_is_413(client, company_key: str) -> None:
    body = b'{"client_reference": "' + b"x" * 4096 + b'"}'
    response = post_raw(client, company_key, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_wrong_content_type_is_415(client, company_key: str) -> None:
    response = post_raw(
        client, company_key, b"a=b", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_unknown_api_path_with_post_is_a_json_404(client, company_key: str) -> None:
    response = post_raw(client, company_key, b"{}")
    assert response.status_code != 500
    response = client.post("/api/v1/nowhere/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_form_with_an_over_long_company_name_is_refused() -> None:
    from django.core.exceptions import ValidationError

    from sesame.services import company_create

    with pytest.raises(ValidationError):
        company_create(eori="FR732829320", name="x" * 500)
    assert not Company.objects.exists()


# --- JSON the parser refuses, on every endpoint that reads a body ----------------------------

JSON_ENDPOINTS = [
    ("post", "/api/v1/declarations/"),
    ("post", "/api/v1/consignments/"),
    ("post", "/api/v1/partner-documents/"),
    ("post", "/api/v1/tracking/events/"),
]


def nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"[]" + b"}" * (depth - 1)


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a": ' * 5000 + b"1" + b"}" * 5000,
        b'{"client_reference": "a", "client_reference": "b"}',
        b'{"reference": "A\\u0000B"}',
        b'{"reference": "\\ud800"}',
        b'{"reference": 1e999999, "x": Infinity}',
        b"\xef\xbb\xbf{}",
        b'{"n": ' + b"1" * 5000 + b"}",
    ],
    ids=["deep-array", "deep-object", "duplicate-key", "nul", "surrogate", "inf", "bom", "bigint"],
)
def test_hostile_json_is_400_malformed_json_on_every_endpoint(
    client, company_key, partner_key, method, path, body
) -> None:
    from gun.models import Declaration, PartnerDocument
    from tracking.models import Consignment, Event

    for key in (company_key, partner_key("SEMAE"), partner_key("TRACES")):
        response = getattr(client, method)(
            path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
        )
        if response.status_code == 403:
            continue  # a key that may not call this endpoint is refused before parsing
        assert response.status_code == 400, response.content[:200]
        assert response.json()["code"] == "malformed_json"
    assert not Declaration.objects.exists()
    assert not Consignment.objects.exists()
    assert not PartnerDocument.objects.exists()
    assert not Event.objects.exists()


def test_nesting_is_allowed_up_to_the_limit(settings) -> None:
    from sesame.api.parsers import MalformedJSON, parse_json

    settings.API_JSON_MAX_DEPTH = 5
    assert parse_json(nested(5)) == {"a": {"a": {"a": {"a": []}}}}
    assert parse_json(b'{"s": "[[[[[[[[[[[["}') == {"s": "[[[[[[[[[[[["}
    with pytest.raises(MalformedJSON):
        parse_json(nested(6))


def test_escaped_text_that_postgres_can_store_is_accepted() -> None:
    from sesame.api.parsers import parse_json

    assert parse_json(b'{"a": "\\u00e9\\ud83d\\ude00\\n"}') == {"a": "é😀\n"}
