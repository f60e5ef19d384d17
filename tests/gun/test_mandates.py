"""Customs representation mandates (docs/gun.md, "Mandates"): a company declares for another
importer only under a mandate that importer granted; the holder of a document sees who used it;
a document of a holder that has not mandated the declarant reveals no more than F001."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from gun.models import Declaration, GunRun, LedgerEntry, Mandate, PartnerDocumentLine
from tests.factories import CompanyFactory, MembershipFactory
from tests.gun.factories import di_doc, di_reference, item, payload, publish_di

pytestmark = pytest.mark.django_db

DECLARATIONS = "/api/v1/declarations/"
MANDATES = "/api/v1/mandates/"


def url(declaration: dict, action: str = "") -> str:
    return f"{DECLARATIONS}{declaration['id']}/" + (f"{action}/" if action else "")


@pytest.fixture
def importer(other_company):
    """Company B: the importer, holder of a DI."""
    return other_company


@pytest.fixture
def b_client(api, other_company_key):
    return api(other_company_key)


@pytest.fixture
def b_di(importer):
    return publish_di(holder=importer.eori, quantity="100.000")


def grant(b_client, representative: str, **dates) -> dict:
    body = {"representative_eori": representative, "kind": "direct", **dates}
    response = b_client.post(MANDATES, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def for_b(importer, b_di, quantity: str = "40") -> dict:
    return payload(importer.eori, item(1, di_doc(b_di.reference, quantity), net_mass=quantity))


def state_of(document) -> tuple:
    line = PartnerDocumentLine.objects.get(document=document)
    return line.reserved, line.imputed, LedgerEntry.objects.filter(document=document).count()


# --- acting for another importer --------------------------------------------------------------


def test_without_a_mandate_registering_for_another_importer_is_403_before_any_check(
    client_co, importer, b_di
):
    response = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "no_mandate"
    assert "messages" not in response.json() and "gun" not in response.json()
    assert Declaration.objects.count() == 0
    assert GunRun.objects.count() == 0


def test_a_granted_mandate_lets_the_representative_declare_and_validate(
    client_co, company, b_client, importer, b_di
):
    mandate = grant(b_client, company.eori)
    assert mandate["in_force"] is True
    assert mandate["grantor_eori"] == importer.eori
    created = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["gun"]["messages"] == []
    validated = client_co.post(url(created.json(), "validate"))
    assert validated.status_code == 200, validated.json()
    assert state_of(b_di) == (Decimal("40.000"), Decimal("0.000"), 1)


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [(-30, -1), (1, 30)],
    ids=["expired", "not_yet_in_force"],
)
def test_a_mandate_out_of_its_dates_is_no_mandate(
    client_co, company, b_client, importer, b_di, valid_from, valid_until
):
    today = timezone.localdate()
    mandate = grant(
        b_client,
        company.eori,
        valid_from=str(today + datetime.timedelta(days=valid_from)),
        valid_until=str(today + datetime.timedelta(days=valid_until)),
    )
    assert mandate["in_force"] is False
    response = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "no_mandate"


def test_a_revoked_mandate_is_no_mandate(client_co, company, b_client, importer, b_di):
    mandate = grant(b_client, company.eori)
    revoked = b_client.post(f"{MANDATES}{mandate['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["in_force"] is False and revoked.json()["revoked_at"]
    response = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "no_mandate"
    again = b_client.post(f"{MANDATES}{mandate['id']}/revoke/")
    assert again.status_code == 409
    assert again.json()["code"] == "mandate_revoked"


def test_a_mandate_revoked_between_anticipation_and_validation_stops_everything(
    client_co, company, b_client, importer, b_di
):
    mandate = grant(b_client, company.eori)
    created = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json").json()
    runs = GunRun.objects.count()
    assert b_client.post(f"{MANDATES}{mandate['id']}/revoke/").status_code == 200

    validate = client_co.post(url(created, "validate"))
    assert validate.status_code == 403
    assert validate.json()["code"] == "no_mandate"
    replace = client_co.put(url(created), for_b(importer, b_di, "30"), format="json")
    assert replace.status_code == 403
    assert replace.json()["code"] == "no_mandate"
    # Nothing ran, nothing moved: the declaration stays as it was.
    assert GunRun.objects.count() == runs
    declaration = Declaration.objects.get(pk=created["id"])
    assert (declaration.status, declaration.version) == ("anticipated", 1)
    assert state_of(b_di) == (Decimal(0), Decimal(0), 0)
    # Cancelling stays possible: it only gives back.
    assert client_co.post(url(created, "cancel")).status_code == 200


def test_rectifying_after_the_mandate_was_revoked_is_403(
    client_co, company, b_client, importer, b_di
):
    mandate = grant(b_client, company.eori)
    created = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json").json()
    assert client_co.post(url(created, "validate")).status_code == 200
    assert b_client.post(f"{MANDATES}{mandate['id']}/revoke/").status_code == 200
    response = client_co.post(url(created, "rectify"), for_b(importer, b_di, "30"), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "no_mandate"
    assert state_of(b_di) == (Decimal("40.000"), Decimal("0.000"), 1)


def test_a_mandate_to_another_representative_does_not_help(client_co, b_client, importer, b_di):
    grant(b_client, CompanyFactory().eori)
    response = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json")
    assert response.status_code == 403


# --- the mandates API -------------------------------------------------------------------------


def test_another_companys_mandate_is_404(api, company, b_client, importer):
    mandate = grant(b_client, company.eori)
    third = api(api_key_for(CompanyFactory()))
    assert third.get(f"{MANDATES}{mandate['id']}/").status_code == 404
    assert third.post(f"{MANDATES}{mandate['id']}/revoke/").status_code == 404
    assert third.get(MANDATES).json()["results"] == []
    assert Mandate.objects.get(pk=mandate["id"]).revoked_at is None


def test_both_parties_see_the_mandate_and_only_the_grantor_revokes_it(client_co, company, b_client):
    mandate = grant(b_client, company.eori)
    received = client_co.get(MANDATES, {"role": "received"}).json()["results"]
    assert [m["id"] for m in received] == [mandate["id"]]
    assert client_co.get(MANDATES, {"role": "granted"}).json()["results"] == []
    assert client_co.get(f"{MANDATES}{mandate['id']}/").status_code == 200
    refused = client_co.post(f"{MANDATES}{mandate['id']}/revoke/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_grantor"
    assert Mandate.objects.get(pk=mandate["id"]).revoked_at is None


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda b, own: b.update(representative_eori=own), "representative_eori", "self_mandate"),
        (lambda b, own: b.update(representative_eori="FR123"), "representative_eori", None),
        (lambda b, own: b.update(kind="general"), "kind", "invalid_choice"),
        (
            lambda b, own: b.update(valid_from="2026-02-01", valid_until="2026-01-01"),
            "valid_until",
            "until_before_from",
        ),
        (lambda b, own: b.update(extra=1), "extra", "unknown_field"),
    ],
    ids=["self", "bad_eori", "bad_kind", "until_before_from", "unknown_field"],
)
def test_a_bad_mandate_is_400_and_creates_nothing(b_client, company, importer, change, field, code):
    body = {"representative_eori": company.eori, "kind": "direct"}
    change(body, importer.eori)
    response = b_client.post(MANDATES, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    if code:
        assert response.json()["errors"][field][0]["code"] == code
    assert Mandate.objects.count() == 0


def test_mandates_are_audited(b_client, company):
    mandate = grant(b_client, company.eori)
    b_client.post(f"{MANDATES}{mandate['id']}/revoke/")
    labels = list(
        Events.objects.filter(pgh_obj_model="gun.Mandate", pgh_obj_id=mandate["id"])
        .order_by("pgh_created_at")
        .values_list("pgh_label", flat=True)
    )
    assert labels == ["insert", "update"]


def test_a_partner_key_cannot_use_mandates(api, partner_key):
    assert api(partner_key("SEMAE")).get(MANDATES).status_code == 403


# --- the holder sees who used its document --------------------------------------------------


def test_the_holder_sees_every_declaration_that_reserved_or_imputed_its_document(
    api, client_co, company, b_client, importer, b_di, delta, partner_key
):
    grant(b_client, company.eori)
    first = client_co.post(DECLARATIONS, for_b(importer, b_di, "40"), format="json").json()
    second = client_co.post(DECLARATIONS, for_b(importer, b_di, "25"), format="json").json()
    assert client_co.post(url(first, "validate")).status_code == 200
    validated = client_co.post(url(second, "validate")).json()
    assert delta.post(url(first, "release")).status_code == 200

    path = f"/api/v1/partner-documents/2413/{b_di.reference}/"
    body = b_client.get(path).json()
    uses = sorted(body["declarations"], key=lambda use: use["reserved"])
    assert [(u["status"], u["reserved"], u["imputed"]) for u in uses] == [
        ("released", "0.000", "40.000"),
        ("validated", "25.000", "0.000"),
    ]
    assert {u["declarant_eori"] for u in uses} == {company.eori}
    assert validated["mrn"] in {u["mrn"] for u in uses}
    # What the holder needs of the declarant, nothing more (no items, no client reference).
    assert set(uses[0]) == {
        "line",
        "declarant_eori",
        "declarant_name",
        "mrn",
        "status",
        "reserved",
        "imputed",
    }
    # The partner sees the same; the declarant (not the holder) does not see the document.
    assert len(api(partner_key("SEMAE")).get(path).json()["declarations"]) == 2
    assert client_co.get(path).status_code == 404


def test_the_holders_documents_page_names_the_declarant_and_the_mrn(
    client_co, company, b_client, importer, b_di
):
    grant(b_client, company.eori)
    created = client_co.post(DECLARATIONS, for_b(importer, b_di), format="json").json()
    mrn = client_co.post(url(created, "validate")).json()["mrn"]
    holder = Client()
    holder.force_login(MembershipFactory(company=importer, role="operator").user)
    html = holder.get(reverse("gun:partner-documents")).content.decode()
    assert mrn in html
    assert company.eori in html and company.name in html


# --- the leak is closed -----------------------------------------------------------------------


def _f_codes(body: dict) -> list[tuple[str, str]]:
    return [(m["code"], m["reference"]) for m in body["gun"]["messages"]]


def test_anticipating_against_another_holders_document_reveals_no_more_than_f001(
    client_co, company, importer, b_di
):
    """The issue's bisection: 17 replacements with a quantity halving the interval each time
    learn nothing; every answer is the F001 a reference that does not exist gets."""
    missing = di_reference()  # well formed, published by nobody
    body = payload(company.eori, item(1, di_doc(b_di.reference, "1"), net_mass="1"))
    created = client_co.post(DECLARATIONS, body, format="json").json()
    assert _f_codes(created) == [("F001", b_di.reference)]
    low, high, answers = Decimal(0), Decimal(1000), set()
    for _ in range(17):
        guess = (low + high) / 2
        quantity = str(guess.quantize(Decimal("0.001")))
        body = payload(company.eori, item(1, di_doc(b_di.reference, quantity), net_mass=quantity))
        replaced = client_co.put(url(created), body, format="json")
        assert replaced.status_code == 200
        codes = tuple(m["code"] for m in replaced.json()["gun"]["messages"])
        answers.add(codes)
        if "F033" in codes:
            high = guess
        else:
            low = guess
    assert answers == {("F001",)}
    assert high == Decimal(1000)  # the bisection never moved its upper bound
    unknown = payload(company.eori, item(1, di_doc(missing, "1"), net_mass="1"))
    same = client_co.put(url(created), unknown, format="json").json()
    assert [m["code"] for m in same["gun"]["messages"]] == ["F001"]
    # Same answer, field by field, but for the reference itself.
    strip = [{k: v for k, v in m.items() if k != "reference"} for m in same["gun"]["messages"]]
    leak = [{k: v for k, v in m.items() if k != "reference"} for m in created["gun"]["messages"]]
    assert strip == leak


def test_validating_against_another_holders_document_reserves_nothing(
    client_co, company, importer, b_di
):
    body = payload(company.eori, item(1, di_doc(b_di.reference, "10"), net_mass="10"))
    created = client_co.post(DECLARATIONS, body, format="json").json()
    rejected = client_co.post(url(created, "validate"))
    assert rejected.status_code == 422
    assert [m["code"] for m in rejected.json()["gun"]["messages"]] == ["F001"]
    forced = payload(
        company.eori, item(1, di_doc(b_di.reference, "10"), net_mass="10"), mentions=["73000"]
    )
    client_co.put(url(created), forced, format="json")
    accepted = client_co.post(url(created, "validate"))
    assert accepted.json()["gun"]["outcome"] == "accepted_with_control"
    assert state_of(b_di) == (Decimal(0), Decimal(0), 0)  # F001 forced reserves nothing


def test_a_holder_that_mandated_the_declarant_is_checked_in_full(
    client_co, company, b_client, importer, b_di
):
    """Mandated by the holder, the declarant sees the document: declaring for itself with the
    holder's DI is then the GUN's F047 (importer does not match), not F001."""
    grant(b_client, company.eori)
    body = payload(company.eori, item(1, di_doc(b_di.reference, "10"), net_mass="10"))
    created = client_co.post(DECLARATIONS, body, format="json").json()
    assert _f_codes(created) == [("F047", b_di.reference)]


# --- rate limits ------------------------------------------------------------------------------


def _rates(**rates: str) -> dict:
    from django.conf import settings

    framework = dict(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = {**framework["DEFAULT_THROTTLE_RATES"], **rates}
    return framework


def test_anticipation_is_rate_limited_per_key(
    api, client_co, company, other_company, other_company_key
):
    body = payload(company.eori, item(1))
    with override_settings(REST_FRAMEWORK=_rates(gun_anticipation="2/min")):
        statuses = []
        for _ in range(12):
            response = client_co.post(DECLARATIONS, body, format="json")
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["code"] == "throttled"
                assert int(response["Retry-After"]) > 0
                break
        assert statuses[-1] == 429
        assert Declaration.objects.count() == len(statuses) - 1
        # Another key has its own allowance; reads are not limited.
        assert client_co.get(DECLARATIONS).status_code == 200
        other = api(other_company_key)
        theirs = payload(other_company.eori, item(1))
        assert other.post(DECLARATIONS, theirs, format="json").status_code == 201


def test_validation_is_rate_limited_per_key(client_co, company, b_di):
    body = payload(company.eori, item(1))
    declarations = [client_co.post(DECLARATIONS, body, format="json").json() for _ in range(12)]
    with override_settings(REST_FRAMEWORK=_rates(gun_validation="2/min")):
        statuses = []
        for declaration in declarations:
            statuses.append(client_co.post(url(declaration, "validate")).status_code)
            if statuses[-1] == 429:
                break
    assert statuses[-1] == 429
    assert Declaration.objects.filter(status="validated").count() == len(statuses) - 1


# --- the page ---------------------------------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_company_admin_grants_and_revokes_a_mandate_on_the_page(company_admin, company):
    admin = _client(company_admin)
    representative = CompanyFactory()
    page = admin.get(reverse("gun:mandates"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Mandats de représentation en douane" in html
    assert "Accorder le mandat" in html
    response = admin.post(
        reverse("gun:mandates"),
        {
            "representative_eori": representative.eori,
            "kind": "indirect",
            "valid_from": str(timezone.localdate()),
            "valid_until": "",
        },
    )
    assert response.status_code == 302
    mandate = Mandate.objects.get()
    assert (mandate.grantor, mandate.representative_eori, mandate.kind) == (
        company,
        representative.eori,
        "indirect",
    )
    html = admin.get(reverse("gun:mandates")).content.decode()
    assert "En vigueur" in html and representative.eori in html
    assert admin.post(reverse("gun:mandate-revoke", args=[mandate.pk])).status_code == 302
    mandate.refresh_from_db()
    assert mandate.revoked_at is not None
    assert "Révoqué" in admin.get(reverse("gun:mandates")).content.decode()


def test_a_bad_mandate_on_the_page_is_400_and_says_why(company_admin, company):
    admin = _client(company_admin)
    response = admin.post(
        reverse("gun:mandates"),
        {"representative_eori": company.eori, "kind": "direct", "valid_from": "2026-01-01"},
    )
    assert response.status_code == 400
    assert "Votre entreprise n’a besoin d’aucun mandat" in response.content.decode() or (
        "aucun mandat" in response.content.decode()
    )
    assert Mandate.objects.count() == 0


def test_an_operator_reads_the_mandates_but_cannot_grant_or_revoke(operator, company):
    operator_client = _client(operator)
    mandate = Mandate.objects.create(
        grantor=company,
        representative_eori=CompanyFactory().eori,
        kind="direct",
        valid_from=timezone.localdate(),
    )
    page = operator_client.get(reverse("gun:mandates"))
    assert page.status_code == 200
    assert mandate.representative_eori in page.content.decode()
    assert "Accorder le mandat" not in page.content.decode()
    refused = operator_client.post(
        reverse("gun:mandates"),
        {
            "representative_eori": CompanyFactory().eori,
            "kind": "direct",
            "valid_from": "2026-01-01",
        },
    )
    assert refused.status_code == 403
    assert operator_client.post(reverse("gun:mandate-revoke", args=[mandate.pk])).status_code == 403
    assert Mandate.objects.count() == 1
    mandate.refresh_from_db()
    assert mandate.revoked_at is None


def test_another_companys_mandate_is_404_on_the_page(company_admin):
    theirs = Mandate.objects.create(
        grantor=CompanyFactory(),
        representative_eori=CompanyFactory().eori,
        kind="direct",
        valid_from=timezone.localdate(),
    )
    admin = _client(company_admin)
    assert admin.post(reverse("gun:mandate-revoke", args=[theirs.pk])).status_code == 404
    assert theirs.representative_eori not in admin.get(reverse("gun:mandates")).content.decode()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


# --- helpers ----------------------------------------------------------------------------------


def api_key_for(company) -> str:
    from sesame.services import api_key_create

    return api_key_create(company=company)[1]
