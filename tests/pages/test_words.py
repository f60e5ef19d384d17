"""French screens say things in French: no raw codes ("non_compliant", "informative",
"api-key:…"), labels that name what they act on, French typography, and no dead end on the
way in (how to get an account, instead of a closed sign-up form)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.utils import timezone

from gun.models import GunRun
from notifications.models import Preference, Profile
from notifications.rendering import message_texts
from sesame.views import members_heading
from tests.factories import CompanyFactory, MembershipFactory
from tests.gun.test_pages import make_declaration
from tests.tracking.conftest import make_consignment
from tracking.services import event_record

pytestmark = pytest.mark.django_db
API_KEY_AUTHOR = "api-key:NLtKfYAX:FR73282932000074"


def signed_in(user, language: str = "fr") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def visible(response) -> str:
    """The page's text as read: tags, scripts and attributes left out."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_timeline_shows_labels_not_codes(company, operator):
    consignment = make_consignment(company, categories=["plants"])
    event_record(
        consignment=consignment,
        kind="physical_check",
        occurred_at=timezone.now(),
        source="SIVEP",
        source_event_id="sivep-1",
        payload={"result": "non_compliant"},
    )
    event_record(
        consignment=consignment,
        kind="declaration_lodged",
        occurred_at=timezone.now(),
        source="GUN",
        source_event_id="gun-1",
        author="GUN",
        payload={"stage": "anticipation", "outcome": "informative", "control_required": True},
    )
    text = visible(signed_in(operator).get(f"/tracking/{consignment.pk}/"))
    assert "Résultat : non conforme" in text
    assert "Étape GUN : anticipation" in text and "Résultat GUN : pour information" in text
    assert "Contrôle requis : oui" in text
    for code in ("non_compliant", "informative", "True"):
        assert code not in text
    english = visible(signed_in(operator, "en").get(f"/tracking/{consignment.pk}/"))
    assert "Result: not compliant" in english and "Outcome: for information" in english


@pytest.mark.parametrize(
    ("payload", "french", "english"),
    [
        ({"outcome": "accepted"}, "acceptée", "accepted"),
        ({"result": "non_compliant"}, "non conforme", "not compliant"),
        ({"decision": "justified"}, "contrôle justifié", "control justified"),
    ],
)
def test_notification_texts_end_with_labels_in_the_readers_language(
    company, payload, french, english
):
    consignment = make_consignment(company)
    event, _ = event_record(
        consignment=consignment,
        kind="declaration_validated",
        occurred_at=timezone.now(),
        source="GUN",
        source_event_id=f"gun-{len(str(payload))}",
        payload=payload,
    )
    _subject, text = message_texts(kind_code="control_decision", event=event, language="fr")
    assert text.endswith(french)
    assert not re.search(r"\b(accepted|non_compliant|justified)\b", text)
    _subject, text = message_texts(kind_code="control_decision", event=event, language="en")
    assert text.endswith(english)


def test_a_run_by_an_api_key_reads_as_a_key_not_a_code_and_is_no_heading(company, operator):
    declaration = make_declaration(company, control="none")
    GunRun.objects.filter(declaration=declaration).update(by=API_KEY_AUTHOR)
    response = signed_in(operator).get(f"/gun/declarations/{declaration.pk}/")
    page = html.unescape(response.content.decode())
    assert "api-key:" not in page
    assert "Par : Clé d'API NLtKfYAX (FR73282932000074)" in visible(response)
    assert not re.search(r"<h\d[^>]*>[^<]*(NLtKfYAX|Clé d'API)", page)


def test_preference_boxes_name_their_channel(operator):
    page = html.unescape(signed_in(operator).get("/notifications/preferences/").content.decode())
    assert "Déclaration rejetée par le GUN — SMS" in page
    assert "Déclaration rejetée par le GUN — Courriel" in page
    assert not re.search(r"— (sms|email|inbox)<", page)


def test_sms_boxes_are_never_shown_ticked_without_a_verified_phone(operator):
    client = signed_in(operator)
    page = client.get("/notifications/preferences/").content.decode()
    sms_box = re.search(r'<input type="checkbox" id="pref-gun_rejection-sms"[^>]*>', page).group()
    assert "checked" not in sms_box and "disabled" in sms_box
    assert 'data-testid="sms-needs-phone"' in page
    # Saving the page keeps the SMS choice for when a number is verified.
    client.post(
        "/notifications/preferences/",
        {"pref": re.findall(r'name="pref" value="([^"]+)"(?: [^>]*)?(?:checked)?', page)},
    )
    assert Preference.objects.get(user=operator, kind="gun_rejection", channel="sms").enabled
    Profile.objects.update_or_create(
        user=operator, defaults={"phone": "+33612345678", "phone_verified_at": timezone.now()}
    )
    page = client.get("/notifications/preferences/").content.decode()
    sms_box = re.search(r'<input type="checkbox" name="pref" value="gun_rejection:sms"[^>]*>', page)
    assert sms_box and "checked" in sms_box.group()


def test_the_login_page_says_how_an_account_is_obtained_instead_of_inviting_to_register():
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/accounts/login/")
    page = response.content.decode()
    assert "/accounts/signup/" not in page
    assert "administrateur de votre entreprise" in visible(response)
    closed = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/accounts/signup/")
    assert "administrateur de votre entreprise" in visible(closed)
    assert 'href="/accounts/login/"' in closed.content.decode()


@pytest.mark.parametrize(
    ("name", "french"),
    [
        ("ACME Transit", "Membres d'ACME Transit"),
        ("Portuaire Logistique", "Membres de Portuaire Logistique"),
        ("Éole Fret", "Membres d'Éole Fret"),
    ],
)
def test_members_heading_elides_before_a_vowel(name, french):
    from django.utils import translation

    with translation.override("fr"):
        assert members_heading(name) == french
    with translation.override("en"):
        assert members_heading(name) == f"Members of {name}"


def test_the_members_page_says_members_d_acme():
    company = CompanyFactory(name="ACME Transit")
    admin = MembershipFactory(company=company, role="admin").user
    assert "Membres d'ACME Transit" in visible(signed_in(admin).get("/company/members/"))


FRENCH_PAGES = ["/dashboard/", "/tracking/", "/gun/declarations/", "/notifications/preferences/"]


@pytest.mark.parametrize("path", FRENCH_PAGES)
def test_french_pages_put_a_space_before_colons(company, operator, path):
    make_consignment(company)
    text = visible(signed_in(operator).get(path))
    assert not re.findall(r"[A-Za-zÀ-ÿ)]:(?=\s)", text)
