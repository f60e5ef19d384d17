"""Error pages in the site's layout, French by default and English on request, with a way back;
the JSON error body under /api/; Django's debug pages never shown unless DEBUG is asked for."""

import json
import os
import subprocess
import sys

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client, RequestFactory

from sesame import errors
from tests.conftest import ROOT
from tests.factories import AgentFactory, MembershipFactory
from tests.tracking.conftest import make_consignment
from tracking.models import Consignment

pytestmark = pytest.mark.django_db


def signed_in(user, language: str = "fr") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def assert_error_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert f'data-testid="error-page" data-status="{status}"' in html
    assert f"<h1>{title}</h1>" in html
    assert 'id="footer"' in html and 'class="fr-header"' in html  # the site's layout
    assert 'data-testid="error-home"' in html  # a way back
    assert "Traceback" not in html and "URLconf" not in html
    return html


@pytest.mark.parametrize(
    ("language", "title", "status_text"),
    [("fr", "Page introuvable", "Erreur 404"), ("en", "Page not found", "Error 404")],
)
def test_unknown_address_is_the_404_page_in_the_chosen_language(language, title, status_text):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no/such/page/")
    html = assert_error_page(response, 404, title)
    assert f'<html lang="{language}"' in html
    assert status_text in html


def test_another_companys_consignment_is_the_404_page_with_the_signed_in_header(company):
    consignment = make_consignment(company)
    stranger = MembershipFactory().user
    response = signed_in(stranger).get(f"/tracking/{consignment.pk}/")
    html = assert_error_page(response, 404, "Page introuvable")
    assert stranger.email in html  # the header of a signed-in person, with sign out
    assert 'data-testid="logout"' in html
    assert consignment.reference not in html
    assert Consignment.objects.filter(pk=consignment.pk).exists()


def test_a_page_of_another_role_is_the_403_page():
    operator = MembershipFactory().user
    response = signed_in(operator).get("/gun/controls/")
    assert_error_page(response, 403, "Accès refusé")


def test_a_post_only_address_opened_by_a_link_is_the_405_page_with_allow():
    operator = MembershipFactory().user
    response = signed_in(operator, "en").get("/company/invitations/1/resend/")
    assert_error_page(response, 405, "Action not available here")
    assert response["Allow"] == "POST"


def test_the_405_page_links_back_to_the_previous_page_of_the_site():
    operator = MembershipFactory().user
    response = signed_in(operator).get(
        "/company/invitations/1/resend/", HTTP_REFERER="http://testserver/dashboard/"
    )
    html = assert_error_page(response, 405, "Action impossible ici")
    assert 'href="http://testserver/dashboard/" data-testid="error-back"' in html


def test_a_referer_elsewhere_is_not_offered_as_the_way_back():
    response = Client().get("/no/such/page/", HTTP_REFERER="https://evil.example/phish")
    html = assert_error_page(response, 404, "Page introuvable")
    assert "evil.example" not in html


@pytest.mark.parametrize("referer", ["", "http://evil.example/accounts/"])
def test_a_bad_host_is_the_400_page(referer):
    response = Client().get("/accounts/login/", HTTP_HOST="evil.example", HTTP_REFERER=referer)
    html = assert_error_page(response, 400, "Requête incomprise")
    assert "evil.example" not in html


def test_a_form_sent_without_its_csrf_token_is_explained_and_changes_nothing():
    admin = MembershipFactory(role="admin")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(admin.user)
    response = client.post("/company/members/", {"email": "new@example.org", "role": "operator"})
    html = assert_error_page(response, 403, "Formulaire expiré")
    assert "recharger" in html.lower() or "rechargez" in html.lower()
    assert admin.company.memberships.count() == 1


def test_the_500_page_needs_neither_the_session_nor_the_database():
    request = RequestFactory().get("/dashboard/")
    response = errors.server_error(request)
    html = assert_error_page(response, 500, "Erreur inattendue")
    assert 'data-testid="logout"' not in html and "csrfmiddlewaretoken" not in html


def test_api_addresses_keep_the_json_error_body():
    request = RequestFactory().get("/api/v1/whatever/")
    response = errors.page_not_found(request)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["code"] == "not_found" and body["detail"] and body["errors"] == {}


def test_agents_get_the_site_pages_too():
    agent = AgentFactory()
    TOTP.activate(agent.user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    response = signed_in(agent.user).get("/gun/controls/00000000-0000-0000-0000-000000000000/")
    assert_error_page(response, 404, "Page introuvable")


def test_development_settings_keep_debug_off_and_still_serve_static_files():
    """`make run` sets SESAME_DEV=1 and no DEBUG: the portal's error pages, not Django's debug
    pages, and WhiteNoise still serves the static files from the finders."""
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env["SESAME_DEV"] = "1"
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'sesame.settings');"
        "django.setup(); from django.conf import settings;"
        "print(settings.DEBUG, settings.WHITENOISE_USE_FINDERS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
    assert Client().get("/static/sesame/sesame.css").status_code == 200
