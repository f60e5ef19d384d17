"""The agents' decision and release forms, on declarations lodged and validated through the API."""

from __future__ import annotations

import html

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from gun.models import Control, Declaration, LedgerEntry
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DI = "2016-01-0000122-00"


def controlled_declaration(api, company, company_key, partner_key) -> Declaration:
    """Validated with 73000 despite F032 (forceable): control required, at Le Havre."""
    semae = api(partner_key("SEMAE"))
    response = semae.post(
        "/api/v1/partner-documents/",
        {
            "code": "2413",
            "reference": DI,
            "status": "VAL",
            "holder_eori": company.eori,
            "issued_on": "2016-01-12",
            "lines": [
                {
                    "line": 1,
                    "commodity_code": "12099180",
                    "origin_country": "MA",
                    "quantity": "1000.000",
                    "unit": "KGM",
                }
            ],
        },
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    client = api(company_key)
    response = client.post(
        "/api/v1/declarations/",
        {
            "client_reference": "ACME-0042",
            "importer_eori": company.eori,
            "special_mentions": ["73000"],
            "post": "FRLEH4",
            "items": [
                {
                    "item_number": 1,
                    "commodity_code": "0709999000",  # not under 12099180: F032, forceable
                    "origin_country": "MA",
                    "net_mass_kg": "123.000",
                    "documents": [
                        {
                            "code": "2413",
                            "reference": DI,
                            "date": "2016-01-12",
                            "imputation": {"line": 1, "quantity": "123", "unit": "KGM"},
                        }
                    ],
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = client.post(f"/api/v1/declarations/{pk}/validate/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["gun"]["outcome"] == "accepted_with_control"
    return Declaration.objects.get(pk=pk)


@pytest.fixture
def declaration(api, company, company_key, partner_key) -> Declaration:
    return controlled_declaration(api, company, company_key, partner_key)


@pytest.fixture
def agent_client() -> Client:
    user = AgentFactory().user
    TOTP.activate(user, TOTP_SECRET)
    client = Client()
    client.force_login(user)
    return client


def state(declaration: Declaration) -> tuple:
    declaration.refresh_from_db()
    control = Control.objects.get(declaration=declaration)
    return (declaration.status, declaration.control_status, control.decision, control.comment)


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_a_controlled_declaration_appears_in_the_queue_with_its_message(agent_client, declaration):
    response = agent_client.get(reverse("gun:review-queue"))
    assert [d.pk for d in response.context["page"]] == [declaration.pk]
    detail = text(agent_client.get(reverse("gun:review-detail", args=[declaration.pk])))
    assert "Produits déclarés non conformes au document" in detail
    assert declaration.mrn in detail


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"decision": "unjustified", "comment": ""}, "comment"),
        ({"decision": "unjustified", "comment": "   "}, "comment"),
        ({"decision": "maybe", "comment": "x"}, "decision"),
        ({"comment": "no decision"}, "decision"),
        ({"decision": "justified", "comment": "x" * 2001}, "comment"),
        ({"decision": ["justified", "unjustified"], "comment": "x"}, None),
    ],
)
def test_bad_decision_answers_400_shows_the_error_and_changes_nothing(
    agent_client, declaration, data, field
):
    before = state(declaration)
    response = agent_client.post(reverse("gun:review-decide", args=[declaration.pk]), data)
    if field is None:  # several values: the last one counts, a valid choice
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert state(declaration) == before


def test_justified_then_release_imputes_and_releases(agent_client, declaration):
    response = agent_client.post(
        reverse("gun:review-decide", args=[declaration.pk]),
        {"decision": "justified", "comment": "Nomenclature change, goods as declared."},
    )
    assert response.status_code == 302
    assert state(declaration)[:3] == ("validated", "justified", "justified")
    page = text(agent_client.get(reverse("gun:review-detail", args=[declaration.pk])))
    assert 'data-testid="release"' in page
    url = reverse("gun:review-release", args=[declaration.pk])
    question = text(agent_client.post(url))
    assert 'data-testid="confirm-question"' in question
    assert declaration.mrn in question
    declaration.refresh_from_db()
    assert declaration.status == "validated"  # asked, not released
    response = agent_client.post(url, {"confirmed": "yes"}, follow=True)
    assert response.status_code == 200
    declaration.refresh_from_db()
    assert declaration.status == "released"
    assert LedgerEntry.objects.filter(declaration=declaration, phase="impute").exists()
    assert 'data-testid="release"' not in text(response)


def test_unjustified_blocks_release(agent_client, declaration):
    agent_client.post(
        reverse("gun:review-decide", args=[declaration.pk]),
        {"decision": "unjustified", "comment": "Goods are not seeds."},
    )
    assert state(declaration) == (
        "validated",
        "unjustified",
        "unjustified",
        "Goods are not seeds.",
    )
    page = text(agent_client.get(reverse("gun:review-detail", args=[declaration.pk])))
    assert 'data-testid="release"' not in page
    assert 'data-testid="release-blocked"' in page
    response = agent_client.post(
        reverse("gun:review-release", args=[declaration.pk]), {"confirmed": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "fr-alert--error" in response.content.decode()
    declaration.refresh_from_db()
    assert declaration.status == "validated"


def test_release_of_an_open_control_is_refused_with_a_message_not_a_500(agent_client, declaration):
    response = agent_client.post(
        reverse("gun:review-release", args=[declaration.pk]), {"confirmed": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "fr-alert--error" in response.content.decode()
    declaration.refresh_from_db()
    assert declaration.status == "validated"


def test_a_second_decision_is_refused_with_a_message(agent_client, declaration):
    url = reverse("gun:review-decide", args=[declaration.pk])
    agent_client.post(url, {"decision": "justified", "comment": ""})
    response = agent_client.post(url, {"decision": "unjustified", "comment": "late"}, follow=True)
    assert response.status_code == 200
    assert "fr-alert--error" in response.content.decode()
    assert state(declaration)[:3] == ("validated", "justified", "justified")


def test_operator_sees_the_control_and_every_message_with_advice(client, operator, declaration):
    client.force_login(operator)
    page = text(client.get(reverse("gun:declaration", args=[declaration.pk])))
    assert "Produits déclarés non conformes au document" in page
    assert "évolution de la nomenclature" in page  # the catalogue's advice for F032
    assert "877,000" in page  # available on the DI: 1000 - 123 reserved


def test_decision_and_release_need_post(agent_client, declaration):
    assert agent_client.get(reverse("gun:review-decide", args=[declaration.pk])).status_code == 405
    assert agent_client.get(reverse("gun:review-release", args=[declaration.pk])).status_code == 405
