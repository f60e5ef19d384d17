"""Who reads what: another company's object is 404 on every endpoint; shares are read-only
and end at once; partners send and read only their own types; the access log."""

import pytest

from dossier.models import AccessLog, Document, Share
from tests.dossier.conftest import pdf_bytes, upload
from tests.dossier.helpers import add
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db

CONSIGNMENT_ENDPOINTS = [
    ("get", "/api/v1/consignments/{c}/documents/"),
    ("post", "/api/v1/consignments/{c}/documents/"),
    ("get", "/api/v1/consignments/{c}/dossier/"),
    ("get", "/api/v1/consignments/{c}/dossier.zip"),
    ("get", "/api/v1/consignments/{c}/shares/"),
    ("post", "/api/v1/consignments/{c}/shares/"),
    ("delete", "/api/v1/consignments/{c}/shares/{eori}/"),
]
DOCUMENT_ENDPOINTS = [
    "/api/v1/documents/{d}/",
    "/api/v1/documents/{d}/download/",
    "/api/v1/documents/{d}/access-log/",
]


def _call(client, method, url):
    if method == "post" and url.endswith("documents/"):
        return client.post(url, {"file": upload(pdf_bytes()), "type": "other"}, format="multipart")
    if method == "post":
        return client.post(url, {"eori": "FR73282932000074", "role": "importer"}, format="json")
    return getattr(client, method)(url)


@pytest.fixture
def owned(company, other_company, dossier_storage):
    consignment = make_consignment(company)
    document = add(consignment, pdf_bytes())
    Share.objects.create(consignment=consignment, company=other_company, role="importer")
    Share.objects.filter(company=other_company).delete()  # a share that ended
    return consignment, document


@pytest.mark.parametrize(("method", "path"), CONSIGNMENT_ENDPOINTS)
def test_another_company_gets_404_on_every_consignment_endpoint(
    api, owned, other_company, other_company_key, method, path
):
    consignment, _document = owned
    url = path.format(c=consignment.pk, eori=other_company.eori)
    response = _call(api(other_company_key), method, url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Document.objects.count() == 1 and not AccessLog.objects.exists()


@pytest.mark.parametrize("path", DOCUMENT_ENDPOINTS)
def test_another_company_gets_404_on_every_document_endpoint(api, owned, other_company_key, path):
    _consignment, document = owned
    response = api(other_company_key).get(path.format(d=document.pk))
    assert response.status_code == 404
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("path", DOCUMENT_ENDPOINTS)
def test_a_partner_reads_no_company_document(api, owned, partner_key, path):
    _consignment, document = owned
    assert api(partner_key("TRACES")).get(path.format(d=document.pk)).status_code == 404


def test_no_key_is_401(api, owned):
    consignment, document = owned
    assert api().get(f"/api/v1/documents/{document.pk}/").status_code == 401
    assert api().get(f"/api/v1/consignments/{consignment.pk}/dossier.zip").status_code == 401


def test_a_share_reads_everything_writes_nothing_and_ends_at_once(
    api, company, company_key, other_company, other_company_key, dossier_storage
):
    consignment = make_consignment(company)
    document = add(consignment, pdf_bytes())
    owner, guest = api(company_key), api(other_company_key)
    created = owner.post(
        f"/api/v1/consignments/{consignment.pk}/shares/",
        {"eori": other_company.eori, "role": "forwarder"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["eori"] == other_company.eori
    assert created.json()["role"] == "forwarder"
    listed = owner.get(f"/api/v1/consignments/{consignment.pk}/shares/").json()
    assert [s["eori"] for s in listed["results"]] == [other_company.eori]
    # The guest reads the documents, the dossier and the ZIP...
    assert guest.get(f"/api/v1/consignments/{consignment.pk}/documents/").json()["count"] == 1
    assert guest.get(f"/api/v1/consignments/{consignment.pk}/dossier/").status_code == 200
    assert guest.get(f"/api/v1/documents/{document.pk}/").status_code == 200
    zipped = guest.get(f"/api/v1/consignments/{consignment.pk}/dossier.zip")
    assert zipped.status_code == 200
    b"".join(zipped.streaming_content)
    # ...uploads nothing, sees neither the shares nor the access log.
    refused = guest.post(
        f"/api/v1/consignments/{consignment.pk}/documents/",
        {"file": upload(pdf_bytes("x")), "type": "other"},
        format="multipart",
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "read_only"
    assert guest.get(f"/api/v1/consignments/{consignment.pk}/shares/").status_code == 404
    assert guest.get(f"/api/v1/documents/{document.pk}/access-log/").status_code == 404
    # The owner reads who exported: the guest's company.
    log = owner.get(f"/api/v1/documents/{document.pk}/access-log/").json()["results"]
    assert [(e["action"], e["company_eori"]) for e in log] == [("zip", other_company.eori)]
    # Ended: the very next request is refused.
    ended = owner.delete(f"/api/v1/consignments/{consignment.pk}/shares/{other_company.eori}/")
    assert ended.status_code == 204
    assert guest.get(f"/api/v1/documents/{document.pk}/").status_code == 404
    assert guest.get(f"/api/v1/consignments/{consignment.pk}/dossier.zip").status_code == 404
    again = owner.delete(f"/api/v1/consignments/{consignment.pk}/shares/{other_company.eori}/")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eori": "FR73282932000074", "role": "importer"}, "eori"),  # no such company
        ({"eori": "nonsense", "role": "importer"}, "eori"),
        ({"eori": "{own}", "role": "importer"}, "eori"),
        ({"eori": "{other}", "role": "captain"}, "role"),
    ],
)
def test_bad_shares_are_400(api, company, company_key, other_company, body, field):
    consignment = make_consignment(company)
    body = {k: v.format(own=company.eori, other=other_company.eori) for k, v in body.items()}
    response = api(company_key).post(
        f"/api/v1/consignments/{consignment.pk}/shares/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Share.objects.exists()


def partner_post(client, **fields):
    data = {
        "file": upload(pdf_bytes("ched")),
        "type": "ched",
        "reference": "CHEDPP.FR.2026.0000001",
    }
    data.update(fields)
    return client.post("/api/v1/dossier/partner-files/", data, format="multipart")


def test_a_partner_sends_its_types_by_every_consignment_key(
    api, company, company_key, partner_key, dossier_storage
):
    consignment = make_consignment(
        company, container_numbers=["MSKU9070323"], ched_references=["CHEDPP.FR.2026.0000001"]
    )
    traces = api(partner_key("TRACES"))
    by_ched = partner_post(traces, ched_reference="CHEDPP.FR.2026.0000001")
    assert by_ched.status_code == 201, by_ched.json()
    body = by_ched.json()
    assert (body["origin"], body["partner"], body["consignment"]) == (
        "partner",
        "TRACES",
        consignment.pk,
    )
    by_container = partner_post(
        traces, container_number="MSKU9070323", type="organic_certificate", reference="COI-1"
    )
    assert by_container.status_code == 201
    by_reference = partner_post(
        api(partner_key("DGCCRF")),
        company_eori=company.eori,
        consignment_reference=consignment.reference,
        type="fl_certificate",
        reference="FL-1",
    )
    assert by_reference.status_code == 201
    # The same bytes again: nothing added.
    assert partner_post(traces, ched_reference="CHEDPP.FR.2026.0000001").status_code in (200, 201)
    # The partner reads back what it sent, not what others sent.
    assert traces.get(f"/api/v1/documents/{body['id']}/").status_code == 200
    assert traces.get(f"/api/v1/documents/{by_reference.json()['id']}/").status_code == 404
    # The owner sees them all.
    listed = api(company_key).get(f"/api/v1/consignments/{consignment.pk}/documents/").json()
    assert {d["partner"] for d in listed["results"]} == {"TRACES", "DGCCRF"}


@pytest.mark.parametrize(
    ("partner", "type_"),
    [
        ("TRACES", "fl_certificate"),
        ("DGCCRF", "ched"),
        ("CITES", "seed_import_declaration"),
        ("SEMAE", "cites_permit"),
        ("DELTA", "release_note"),
        ("TRACES", "commercial_invoice"),
    ],
)
def test_a_partner_cannot_send_another_type(
    api, company, partner_key, partner, type_, dossier_storage
):
    make_consignment(company, ched_references=["CHEDPP.FR.2026.0000001"])
    response = partner_post(
        api(partner_key(partner)), ched_reference="CHEDPP.FR.2026.0000001", type=type_
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_your_type"
    assert not Document.objects.exists()
    assert dossier_storage.stored_names() == []


def test_partner_files_for_nothing_or_for_several(
    api, company, other_company, partner_key, dossier_storage
):
    traces = api(partner_key("TRACES"))
    assert partner_post(traces, ched_reference="CHEDPP.FR.2026.0000001").status_code == 404
    assert partner_post(traces, container_number="MSKU9070323").status_code == 404
    assert partner_post(traces).status_code == 400  # the consignment is not named
    make_consignment(company, container_numbers=["MSKU9070323"])
    make_consignment(other_company, container_numbers=["MSKU9070323"])
    ambiguous = partner_post(traces, container_number="MSKU9070323")
    assert ambiguous.status_code == 409
    assert ambiguous.json()["code"] == "ambiguous_consignment"
    assert not Document.objects.exists()
    assert dossier_storage.stored_names() == []


def test_company_keys_cannot_post_partner_files(api, company, company_key):
    make_consignment(company, ched_references=["CHEDPP.FR.2026.0000001"])
    response = partner_post(api(company_key), ched_reference="CHEDPP.FR.2026.0000001")
    assert response.status_code == 403


def test_downloads_are_logged_with_who_and_which_company_or_partner(
    api, company, company_key, partner_key, settings, dossier_storage
):
    settings.DOSSIER_ACCEL_PREFIX = ""
    make_consignment(company, ched_references=["CHEDPP.FR.2026.0000001"])
    traces = api(partner_key("TRACES"))
    sent = partner_post(traces, ched_reference="CHEDPP.FR.2026.0000001").json()
    for client in (traces, api(company_key)):
        response = client.get(f"/api/v1/documents/{sent['id']}/download/")
        assert response.status_code == 200
        b"".join(response.streaming_content)
    log = api(company_key).get(f"/api/v1/documents/{sent['id']}/access-log/").json()["results"]
    assert [(e["action"], e["company_eori"], e["partner"]) for e in log] == [
        ("download", company.eori, None),
        ("download", None, "TRACES"),
    ]
    assert all(e["by"] for e in log)
