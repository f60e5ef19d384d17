"""Hypothesis-driven bad bodies on every endpoint of the OpenAPI document: each answer is a
4xx in the error shape (never a 500) and no business row changes.

Operations are read from the document itself, so an endpoint added later is fuzzed too. Every
generated body is invalid whatever the endpoint: not a JSON object, JSON nested too deep, an
unknown field, a field set to text with a control character, raw bytes that are not JSON, or
any body at all where the operation takes none.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gun.factories import di_doc, item, payload, publish_di
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db

TABLES = [
    "gun_declaration",
    "gun_declarationitem",
    "gun_itemdocument",
    "gun_partnerdocument",
    "gun_partnerdocumentline",
    "gun_gunrun",
    "gun_gunmessage",
    "gun_ledgerentry",
    "gun_reservation",
    "tracking_consignment",
    "tracking_declarationlink",
    "tracking_event",
    "sesame_company",
    "gun_mandate",
    "appointments_appointment",
    "appointments_waitlistentry",
    "dossier_document",
    "dossier_share",
    "notifications_webhookendpoint",
    "notifications_webhookdelivery",
]
PARTNER_OPERATIONS = {
    "partner_documents_create": "SEMAE",
    "tracking_events_create": "PORT",
    "declarations_release_create": "DELTA",
}
REFUSALS = {400, 403, 404, 405, 409, 412, 413, 415, 422}

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
not_an_object = st.one_of(json_scalars, st.lists(json_scalars, max_size=4)).map(json.dumps)
controlled_text = st.tuples(
    st.text(max_size=10), st.sampled_from("\x00\x07\x1b\x7f\x85\u202e")
).map(lambda parts: parts[0] + parts[1])
too_deep = st.integers(33, 400).map(lambda depth: "[" * depth + "]" * depth)
# Not JSON, and not blank: white space alone is no body (sesame.api.middleware.NoBodyMiddleware).
raw_bytes = st.binary(min_size=1, max_size=30).filter(
    lambda raw: not _is_json(raw) and raw.strip() != b""
)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def snapshot() -> dict[str, str]:
    """A digest of every business table's rows."""
    digests = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            rows = "string_agg(t::text, ',' ORDER BY t::text)"
            cursor.execute(f"SELECT md5(coalesce({rows}, '')) FROM {table} t")
            digests[table] = cursor.fetchone()[0]
    return digests


def bodies(operation: dict[str, Any], schemas: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Bodies no variant of this operation may accept."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return (
            st.one_of(not_an_object, too_deep, st.just('{"force": true}')).map(str.encode)
            | raw_bytes
        )
    examples = [e["value"] for e in content.get("examples", {}).values()]
    base = examples[0] if examples else {}
    component = schemas[content["schema"]["$ref"].rsplit("/", 1)[1]]
    names = sorted(component.get("properties", {}))
    unknown = (
        st.text(min_size=1, max_size=8)
        .filter(lambda name: name not in names)
        .map(lambda name: {**base, name: 1})
    )
    spoilt = (
        st.tuples(st.sampled_from(names), controlled_text | too_deep.map(json.loads)).map(
            lambda change: {**base, change[0]: change[1]}
        )
        if names
        else unknown
    )
    return (
        st.one_of(unknown, spoilt).map(lambda body: json.dumps(body).encode())
        | not_an_object.map(str.encode)
        | too_deep.map(str.encode)
        | raw_bytes
    )


@pytest.fixture
def world(company, company_key, partner_key) -> dict[str, Any]:
    from rest_framework.test import APIClient

    di = publish_di(holder=company.eori)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {company_key}")
    declaration = client.post(
        "/api/v1/declarations/", payload(company.eori, item(1, di_doc(di.reference))), format="json"
    ).json()
    consignment = make_consignment(company)
    return {
        "keys": {
            "company": company_key,
            **{partner: partner_key(partner) for partner in set(PARTNER_OPERATIONS.values())},
        },
        "paths": {
            "declarations": {"id": declaration["id"]},
            "consignments": {"id": consignment.pk},
            "partner-documents": {"code": di.code, "reference": di.reference},
            "keys": {"prefix": company_key.split(".", 1)[0]},
        },
    }


class Absent(dict):
    """The identifiers of objects this test does not make: values naming nothing (their 404 is
    a refusal too, and the body must not change anything on the way)."""

    def __missing__(self, name: str) -> Any:
        return {"eori": "FR000000000", "prefix": "absent00"}.get(name, 999999)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item_ in schema["paths"].items():
        for method, operation in item_.items():
            if method in ("post", "put", "patch"):
                found.append((path, method, operation))
    return found


def refused_everywhere(
    client: Any, url: str, method: str, key: str, strategy: st.SearchStrategy[bytes]
) -> Any:
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=strategy)
    def refused(body: bytes) -> None:
        response = getattr(client, method)(
            url, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
        )
        assert response.status_code in REFUSALS, (url, body[:200], response.content[:300])
        assert {"code", "detail"} <= set(response.json())

    return refused


def test_bad_bodies_on_every_endpoint_are_4xx_and_change_nothing(client, world) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schemas = schema["components"]["schemas"]
    tried = []
    for path, method, operation in operations():
        family = path.split("/")[3]
        url = path.format_map(Absent(world["paths"].get(family, {})))
        partner = PARTNER_OPERATIONS.get(operation["operationId"])
        key = world["keys"][partner or "company"]
        before = snapshot()

        refused_everywhere(client, url, method, key, bodies(operation, schemas))()
        assert snapshot() == before, operation["operationId"]
        tried.append(operation["operationId"])
    assert {
        "declarations_create",
        "declarations_update",
        "declarations_validate_create",
        "declarations_release_create",
        "consignments_create",
        "consignments_partial_update",
        "partner_documents_create",
        "tracking_events_create",
    } <= set(tried)
