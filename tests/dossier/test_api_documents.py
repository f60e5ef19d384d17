"""DOSSIER.md §1-§2 through the API: types and who brings them, accepted content, limits,
the exact bytes back, versions, the idempotent re-upload; on both storages."""

import base64
import hashlib

import pytest

from dossier.models import Document
from dossier.types import TYPES
from tests.dossier.conftest import SAMPLES, XML, pdf_bytes, upload
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db


def post(
    client, consignment, data: bytes, type_="commercial_invoice", name="invoice.pdf", **fields
):
    return client.post(
        f"/api/v1/consignments/{consignment.pk}/documents/",
        {"file": upload(data, name), "type": type_, **fields},
        format="multipart",
    )


def download(client, document_id, settings):
    settings.DOSSIER_ACCEL_PREFIX = ""  # no front here: Django streams the bytes
    response = client.get(f"/api/v1/documents/{document_id}/download/")
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


@pytest.mark.parametrize("content_type", list(SAMPLES))
def test_accepted_content_is_decided_from_the_bytes_and_comes_back_exactly(
    api, company, company_key, dossier_storage, settings, content_type
):
    consignment = make_consignment(company)
    make, _name = SAMPLES[content_type]
    data = make()
    # The declared name says otherwise: the bytes decide.
    response = post(api(company_key), consignment, data, name="whatever.bin", reference="R-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == content_type
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)
    assert (body["version"], body["current"], body["replaces"], body["origin"]) == (
        1,
        True,
        None,
        "company",
    )
    assert body["uploaded_by"] == company.eori  # the API key's name
    got, content = download(api(company_key), body["id"], settings)
    assert got.status_code == 200
    assert content == data
    assert got["Content-Type"] == content_type
    assert got["Content-Disposition"].startswith("attachment;")
    assert got["ETag"] == f'"{body["sha256"]}"'
    assert (
        got["Repr-Digest"]
        == f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"
    )
    assert len(dossier_storage.stored_names()) == 1
    assert dossier_storage.leftover_uploads() == []


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty"),
        (b"PK\x03\x04" + b"\x00" * 100, 415, "unsupported_media"),  # a ZIP named .pdf
        (b"<html><script>alert(1)</script>", 415, "unsupported_media"),  # not well-formed XML
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
            415,
            "unsupported_media",
        ),
        (b"just some text", 415, "unsupported_media"),
        (b"MZ\x90\x00" + b"\x00" * 200, 415, "unsupported_media"),  # an executable
    ],
)
def test_refused_content_leaves_nothing(
    api, company, company_key, dossier_storage, data, status, code
):
    consignment = make_consignment(company)
    response = post(api(company_key), consignment, data)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["errors"]["file"][0]["code"] == code
    assert not Document.objects.exists()
    assert dossier_storage.stored_names() == []
    assert dossier_storage.leftover_uploads() == []


def test_over_the_limit_is_413_and_at_the_limit_is_accepted(
    api, company, company_key, dossier_storage, settings
):
    settings.DOSSIER_MAX_UPLOAD_BYTES = 200_000
    consignment = make_consignment(company)
    head = pdf_bytes()
    exact = head + b"\n%" + b"x" * (200_000 - len(head) - 2)
    assert len(exact) == 200_000
    response = post(api(company_key), consignment, exact)
    assert response.status_code == 201
    over = exact + b"x"
    response = post(api(company_key), consignment, over, reference="other")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    # A body far over the limit is refused before it is read.
    response = post(api(company_key), consignment, over + b"x" * 200_000, reference="third")
    assert response.status_code == 413
    assert Document.objects.count() == 1
    assert len(dossier_storage.stored_names()) == 1
    assert dossier_storage.leftover_uploads() == []


def test_versions_need_a_reason_and_the_same_bytes_add_nothing(
    api, company, company_key, dossier_storage, settings
):
    consignment = make_consignment(company)
    client = api(company_key)
    v1, v2 = pdf_bytes("v1"), pdf_bytes("v2")
    first = post(client, consignment, v1, reference="INV-1").json()
    again = post(client, consignment, v1, reference="INV-1")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    no_reason = post(client, consignment, v2, reference="INV-1")
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"]["reason"][0]["code"] == "reason_required"
    second = post(client, consignment, v2, reference="INV-1", reason="Corrected amount")
    assert second.status_code == 201
    second = second.json()
    assert (second["version"], second["current"], second["replaces"]) == (2, True, first["id"])
    # The same (type, reference) names the document; another reference is another document.
    other = post(client, consignment, v2, reference="INV-2")
    assert other.status_code == 201 and other.json()["version"] == 1
    listed = client.get(f"/api/v1/consignments/{consignment.pk}/documents/").json()
    assert listed["count"] == 3
    assert [d["id"] for d in listed["results"]] == [other.json()["id"], second["id"], first["id"]]
    old = client.get(f"/api/v1/documents/{first['id']}/").json()
    assert old["current"] is False
    _response, content = download(client, first["id"], settings)
    assert content == v1
    assert len(dossier_storage.stored_names()) == 3


@pytest.mark.parametrize(
    "type_", [code for code, kind in TYPES.items() if kind.origin != "company"]
)
def test_an_owner_cannot_upload_a_partner_or_system_type(
    api, company, company_key, dossier_storage, type_
):
    consignment = make_consignment(company)
    response = post(api(company_key), consignment, pdf_bytes(), type_=type_)
    assert response.status_code == 400
    expected = "system_type" if TYPES[type_].origin == "system" else "partner_type"
    assert response.json()["errors"]["type"][0]["code"] == expected
    assert dossier_storage.stored_names() == []


@pytest.mark.parametrize(
    "type_", [code for code, kind in TYPES.items() if kind.origin == "company"]
)
def test_every_owner_type_is_accepted(api, company, company_key, type_, dossier_storage):
    consignment = make_consignment(company)
    response = post(api(company_key), consignment, XML, type_=type_, name="x.xml")
    assert response.status_code == 201
    assert response.json()["type"] == type_


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "bogus"}, "type"),
        ({"issued_on": "30/11/2026"}, "issued_on"),
        ({"reference": "x" * 71}, "reference"),
    ],
)
def test_malformed_fields_are_400(api, company, company_key, fields, field, dossier_storage):
    consignment = make_consignment(company)
    data = {"file": upload(pdf_bytes()), "type": "commercial_invoice", **fields}
    response = api(company_key).post(
        f"/api/v1/consignments/{consignment.pk}/documents/", data, format="multipart"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert dossier_storage.stored_names() == []
    assert dossier_storage.leftover_uploads() == []


def test_missing_file_and_json_body_are_refused(api, company, company_key):
    consignment = make_consignment(company)
    client = api(company_key)
    url = f"/api/v1/consignments/{consignment.pk}/documents/"
    response = client.post(url, {"type": "commercial_invoice"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    response = client.post(url, {"type": "commercial_invoice"}, format="json")
    assert response.status_code == 415


def test_two_files_in_one_request_are_refused(api, company, company_key, dossier_storage):
    consignment = make_consignment(company)
    response = api(company_key).post(
        f"/api/v1/consignments/{consignment.pk}/documents/",
        {"file": [upload(pdf_bytes("a")), upload(pdf_bytes("b"))], "type": "other"},
        format="multipart",
    )
    assert response.status_code == 400
    assert not Document.objects.exists()
    assert dossier_storage.stored_names() == []


def test_completeness_follows_the_categories(
    api, company, company_key, partner_key, dossier_storage
):
    consignment = make_consignment(
        company, categories=["plants"], ched_references=["CHEDPP.FR.2026.0000001"]
    )
    client = api(company_key)
    url = f"/api/v1/consignments/{consignment.pk}/dossier/"
    assert client.get(url).json() == {
        "consignment": consignment.pk,
        "required": [
            "commercial_invoice",
            "transport_document",
            "ched",
            "phytosanitary_certificate",
        ],
        "present": [],
        "missing": [
            "commercial_invoice",
            "transport_document",
            "ched",
            "phytosanitary_certificate",
        ],
        "complete": False,
    }
    post(client, consignment, pdf_bytes(), type_="commercial_invoice")
    state = client.get(url).json()
    assert state["present"] == ["commercial_invoice"]
    assert state["missing"] == ["transport_document", "ched", "phytosanitary_certificate"]
    post(client, consignment, pdf_bytes("bl"), type_="transport_document")
    post(client, consignment, pdf_bytes("phyto"), type_="phytosanitary_certificate")
    response = api(partner_key("TRACES")).post(
        "/api/v1/dossier/partner-files/",
        {
            "file": upload(pdf_bytes("ched")),
            "type": "ched",
            "reference": "CHEDPP.FR.2026.0000001",
            "ched_reference": "CHEDPP.FR.2026.0000001",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert client.get(url).json()["complete"] is True


@pytest.mark.parametrize(
    ("categories", "required"),
    [
        ([], ["commercial_invoice", "transport_document"]),
        (
            ["live_animals"],
            ["commercial_invoice", "transport_document", "ched", "health_certificate"],
        ),
        (
            ["animal_products"],
            ["commercial_invoice", "transport_document", "ched", "health_certificate"],
        ),
        (["food_non_animal"], ["commercial_invoice", "transport_document", "ched"]),
        (["fl_marketing"], ["commercial_invoice", "transport_document", "fl_certificate"]),
        (["organic"], ["commercial_invoice", "transport_document", "organic_certificate"]),
        (
            ["plants", "organic", "fl_marketing"],
            [
                "commercial_invoice",
                "transport_document",
                "ched",
                "phytosanitary_certificate",
                "fl_certificate",
                "organic_certificate",
            ],
        ),
    ],
)
def test_required_types_per_category(api, company, company_key, categories, required):
    consignment = make_consignment(company, categories=categories)
    body = api(company_key).get(f"/api/v1/consignments/{consignment.pk}/dossier/").json()
    assert body["required"] == required
