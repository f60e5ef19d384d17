"""The Dossier tab and pages: what the owner, a company it shares with, agents of the post and
anyone else see; uploads through the page; constant query counts."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from dossier.models import AccessLog, Document, Share
from tests.dossier.conftest import XML, pdf_bytes, png_bytes, upload
from tests.dossier.helpers import add
from tests.factories import AgentFactory, MembershipFactory
from tests.tracking.conftest import make_consignment, post

pytestmark = pytest.mark.django_db
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def agent_of(code: str):
    agent = AgentFactory(post=post(code)).user
    TOTP.activate(agent, SECRET)
    return agent


@pytest.fixture
def dossier(company, dossier_storage):
    consignment = make_consignment(company, categories=["plants"], post=post("FRLEH4"))
    document = add(consignment, pdf_bytes("invoice"), reference="INV-1")
    add(consignment, png_bytes(), type_="packing_list")
    return consignment, document


def test_the_owner_sees_the_dossier_tab_with_checklist_upload_shares_and_log(dossier, operator):
    consignment, document = dossier
    page = logged(operator).get(f"/tracking/{consignment.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="dossier-tab"' in html
    assert 'data-testid="upload-form"' in html
    assert 'data-type="commercial_invoice" data-present="true"' in html
    assert 'data-type="ched" data-present="false"' in html
    assert "Dossier incomplet" in html
    assert f"/dossier/documents/{document.pk}/preview/" in html
    assert f"/dossier/consignments/{consignment.pk}/dossier.zip" in html
    assert "Partagé avec" in html and "Qui a consulté les documents" in html
    assert "<script>" not in html  # no inline script (Content-Security-Policy)


def test_agents_of_the_post_read_the_dossier_and_others_get_404(dossier):
    consignment, document = dossier
    here = logged(agent_of("FRLEH4"))
    html = here.get(f"/tracking/{consignment.pk}/").content.decode()
    assert 'data-testid="dossier-panel"' in html
    assert 'data-testid="upload-form"' not in html  # read only
    assert 'data-testid="access-log"' not in html
    assert here.get(f"/dossier/documents/{document.pk}/download/").status_code == 200
    refused = here.post(
        f"/dossier/consignments/{consignment.pk}/upload/",
        {"file": upload(pdf_bytes("x")), "type": "other"},
        HTTP_ACCEPT="application/json",
    )
    assert refused.status_code == 403
    elsewhere = logged(agent_of("FRMRS4"))
    for url in (
        f"/dossier/consignments/{consignment.pk}/",
        f"/dossier/consignments/{consignment.pk}/panel/",
        f"/dossier/consignments/{consignment.pk}/dossier.zip",
        f"/dossier/documents/{document.pk}/download/",
        f"/dossier/documents/{document.pk}/preview/",
    ):
        assert elsewhere.get(url).status_code == 404, url


def test_another_company_gets_404_on_every_dossier_page(dossier, other_company):
    consignment, document = dossier
    stranger = logged(MembershipFactory(company=other_company).user)
    for url in (
        f"/dossier/consignments/{consignment.pk}/",
        f"/dossier/consignments/{consignment.pk}/panel/",
        f"/dossier/consignments/{consignment.pk}/dossier.zip",
        f"/dossier/documents/{document.pk}/download/",
        f"/dossier/documents/{document.pk}/preview/",
    ):
        assert stranger.get(url).status_code == 404, url
    for url, data in (
        (
            f"/dossier/consignments/{consignment.pk}/upload/",
            {"file": upload(XML, "a.xml"), "type": "other"},
        ),
        (
            f"/dossier/consignments/{consignment.pk}/shares/",
            {"eori": other_company.eori, "role": "importer"},
        ),
        (f"/dossier/consignments/{consignment.pk}/shares/{other_company.eori}/end/", {}),
    ):
        assert stranger.post(url, data).status_code == 404, url
    assert Document.objects.count() == 2 and not Share.objects.exists()
    assert not AccessLog.objects.exists()


def test_a_shared_company_reads_the_dossier_and_timeline_on_its_own_page(
    dossier, other_company, operator
):
    consignment, document = dossier
    owner = logged(operator)
    shared = owner.post(
        f"/dossier/consignments/{consignment.pk}/shares/",
        {"eori": other_company.eori, "role": "haulier"},
    )
    assert shared.status_code == 302
    guest = logged(MembershipFactory(company=other_company).user)
    listing = guest.get("/dossier/shared/").content.decode()
    assert consignment.reference in listing
    page = guest.get(f"/dossier/consignments/{consignment.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="timeline"' in html and 'data-testid="checklist"' in html
    assert 'data-testid="upload-form"' not in html
    assert "lecture seule" in html
    assert guest.get(f"/dossier/documents/{document.pk}/download/").status_code == 200
    assert guest.get(f"/tracking/{consignment.pk}/").status_code == 404  # tracking's own page
    owner.post(f"/dossier/consignments/{consignment.pk}/shares/{other_company.eori}/end/")
    assert guest.get(f"/dossier/consignments/{consignment.pk}/").status_code == 404
    assert guest.get(f"/dossier/documents/{document.pk}/download/").status_code == 404


def test_upload_through_the_page_answers_json_with_french_messages(dossier, operator, settings):
    consignment, _document = dossier
    client = logged(operator)
    url = f"/dossier/consignments/{consignment.pk}/upload/"
    ok = client.post(
        url,
        {"file": upload(pdf_bytes("bl"), "bl.pdf"), "type": "transport_document"},
        HTTP_ACCEPT="application/json",
    )
    assert ok.status_code == 201
    assert (
        ok.json()["detail"] == "Document de transport (connaissement, LTA, CMR) ajouté (version 1)."
    )
    wrong = client.post(
        url, {"file": upload(b"hello", "x.pdf"), "type": "other"}, HTTP_ACCEPT="application/json"
    )
    assert wrong.status_code == 415
    assert wrong.json()["detail"].startswith("Ce fichier n’est pas accepté") or wrong.json()[
        "detail"
    ].startswith("Ce fichier n'est pas accepté")
    settings.DOSSIER_MAX_UPLOAD_BYTES = 1000
    big = client.post(
        url,
        {"file": upload(pdf_bytes("bl"), "bl.pdf"), "type": "other"},
        HTTP_ACCEPT="application/json",
    )
    assert big.status_code == 413 and "20 Mio" in big.json()["detail"]
    no_js = client.post(url, {"file": upload(b"", "e.pdf"), "type": "other"})
    assert no_js.status_code == 302  # without JavaScript: back to the page with the message
    assert Document.objects.filter(consignment=consignment).count() == 3


def test_the_page_upload_checks_csrf(dossier, operator):
    consignment, _document = dossier
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post(
        f"/dossier/consignments/{consignment.pk}/upload/",
        {"file": upload(pdf_bytes("csrf")), "type": "other"},
    )
    assert response.status_code == 403
    assert Document.objects.filter(consignment=consignment).count() == 2
    # With the token the page carries (as dossier.js sends it): accepted.
    client.get(f"/tracking/{consignment.pk}/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/dossier/consignments/{consignment.pk}/upload/",
        {"file": upload(pdf_bytes("csrf")), "type": "other"},
        HTTP_X_CSRFTOKEN=token,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    assert Document.objects.filter(consignment=consignment).count() == 3


def test_preview_is_inline_and_logged(dossier, operator, settings):
    settings.DOSSIER_ACCEL_PREFIX = ""
    _consignment, document = dossier
    response = logged(operator).get(f"/dossier/documents/{document.pk}/preview/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(response.streaming_content) == pdf_bytes("invoice")
    assert AccessLog.objects.get(document=document).action == "download"


def test_the_panel_does_not_grow_with_the_dossier(
    company, operator, dossier_storage, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    consignment = make_consignment(company)
    client = logged(operator)
    url = f"/dossier/consignments/{consignment.pk}/panel/"
    add(consignment, pdf_bytes("one"))
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for n in range(8):
        add(consignment, pdf_bytes(f"more {n}"), type_="other", reference=f"R{n}")
    client.get(f"/dossier/documents/{Document.objects.first().pk}/download/")
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
