"""The operator acts from the declaration page (validate, rectify, cancel) through the same
services as the API, with every GUN message beside the field it concerns; bad input is answered
in the form, another company's declaration is 404."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from gun.engine import RULES
from gun.models import Declaration, ItemDocument, LedgerEntry, Reservation
from tests.factories import MembershipFactory
from tests.gun.factories import di_doc, item, payload, publish_di, service_data

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def operator_client(company) -> Client:
    client = Client()
    client.force_login(MembershipFactory(company=company).user)
    return client


def lodge(company, *, quantity: str = "100", available: str = "1000") -> tuple[Declaration, str]:
    """An anticipated declaration of `company` using a DI of `available` kg."""
    from gun import services

    reference = publish_di(holder=company.eori, quantity=available).reference
    body = payload(company.eori, item(1, di_doc(reference, quantity), net_mass=f"{quantity}.000"))
    result = services.declaration_register(company=company, data=service_data(body), by="test")
    return result.declaration, reference


def validated(company, **kwargs: str) -> tuple[Declaration, str]:
    from gun import services

    declaration, reference = lodge(company, **kwargs)
    result = services.declaration_validate(declaration=declaration, by="test")
    assert result.run.outcome == "accepted"
    return Declaration.objects.get(pk=declaration.pk), reference


def form_data(page) -> dict[str, str]:
    """The values the rectification form would post as rendered (inputs, checked boxes, the
    selected post)."""
    body = page.content.decode()
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) == "checkbox":
            if " checked" in tag:
                data[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    selected = re.search(r'name="post".*?<option value="([^"]*)" selected', body, re.S)
    data["post"] = selected.group(1) if selected else ""
    return data


# --- what the page offers -----------------------------------------------------------------------


def test_actions_follow_what_the_api_allows_in_each_status(operator_client, company):
    anticipated, _ = lodge(company)
    page = text(operator_client.get(reverse("gun:declaration", args=[anticipated.pk])))
    assert 'data-testid="validate"' in page
    assert 'data-testid="cancel"' in page
    assert 'data-testid="rectify"' not in page
    declaration, _ = validated(company)
    page = text(operator_client.get(reverse("gun:declaration", args=[declaration.pk])))
    assert 'data-testid="validate"' not in page
    assert 'data-testid="rectify"' in page
    assert 'data-testid="cancel"' in page


def test_another_companys_declaration_is_404_for_every_action(operator_client, other_company):
    theirs, _ = validated(other_company)
    before = (theirs.status, theirs.version)
    for name in ("declaration", "declaration-rectify"):
        assert operator_client.get(reverse(f"gun:{name}", args=[theirs.pk])).status_code == 404
    for name in ("declaration-validate", "declaration-rectify", "declaration-cancel"):
        response = operator_client.post(
            reverse(f"gun:{name}", args=[theirs.pk]), {"confirmed": "yes"}
        )
        assert response.status_code == 404, name
    theirs.refresh_from_db()
    assert (theirs.status, theirs.version) == before


# --- validate ---------------------------------------------------------------------------------


def test_validate_accepted_gives_an_mrn_and_reserves(operator_client, company):
    declaration, _ = lodge(company)
    response = operator_client.post(
        reverse("gun:declaration-validate", args=[declaration.pk]), follow=True
    )
    assert response.status_code == 200
    declaration.refresh_from_db()
    assert declaration.status == "validated"
    assert declaration.mrn in text(response)
    assert Reservation.objects.filter(declaration=declaration).exists()


def test_validate_rejected_shows_each_message_beside_what_it_concerns(operator_client, company):
    declaration, _reference = lodge(company, quantity="1500", available="1000")  # F033
    response = operator_client.post(
        reverse("gun:declaration-validate", args=[declaration.pk]), follow=True
    )
    declaration.refresh_from_db()
    assert declaration.status == "anticipated"
    page = text(response)
    assert "rejeté" in page
    # Beside the document of item 1, naming the field: the sheet's quantity.
    document = page.split('data-testid="item-1"', 1)[1]
    assert re.search(r'data-code="F033">Quantité — GUN F033 : Quantité trop importante', document)


def test_validate_twice_is_refused_with_a_message_not_a_500(operator_client, company):
    declaration, _ = validated(company)
    response = operator_client.post(
        reverse("gun:declaration-validate", args=[declaration.pk]), follow=True
    )
    assert response.status_code == 200
    assert "fr-alert--error" in response.content.decode()


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_asks_first_then_releases_the_reservations(operator_client, company):
    declaration, _ = validated(company)
    url = reverse("gun:declaration-cancel", args=[declaration.pk])
    question = text(operator_client.post(url))
    assert 'data-testid="confirm-question"' in question
    declaration.refresh_from_db()
    assert declaration.status == "validated"
    response = operator_client.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.status == "cancelled"
    assert not Reservation.objects.filter(declaration=declaration).exists()
    assert LedgerEntry.objects.filter(declaration=declaration, phase="release").exists()
    again = operator_client.post(url, {"confirmed": "yes"}, follow=True)
    assert "fr-alert--error" in again.content.decode()


# --- rectify ----------------------------------------------------------------------------------


def test_rectify_accepted_replaces_the_content_and_the_reservation(operator_client, company):
    declaration, _ = validated(company, quantity="100")
    url = reverse("gun:declaration-rectify", args=[declaration.pk])
    page = operator_client.get(url)
    assert page.status_code == 200
    data = form_data(page)
    assert data["item-0-doc-0-quantity"] == "100"
    data.update({"item-0-doc-0-quantity": "250", "item-0-net_mass_kg": "250"})
    response = operator_client.post(url, data)
    assert response.status_code == 302, text(response)
    document = ItemDocument.objects.get(item__declaration=declaration)
    assert str(document.imputation_quantity) == "250.000"
    assert sum(r.quantity for r in Reservation.objects.filter(declaration=declaration)) == 250


def test_rectify_rejected_shows_the_message_beside_its_field_and_changes_nothing(
    operator_client, company
):
    declaration, _ = validated(company, quantity="100", available="1000")
    url = reverse("gun:declaration-rectify", args=[declaration.pk])
    data = form_data(operator_client.get(url))
    data.update({"item-0-doc-0-quantity": "5000", "item-0-net_mass_kg": "5000"})
    response = operator_client.post(url, data)
    assert response.status_code == 422
    body = text(response)
    assert 'data-testid="rectification-rejected"' in body
    quantity = body.split('data-field="item-0-doc-0-quantity"', 1)[1].split("</div>\n</div>", 1)[0]
    assert 'value="5000"' in quantity  # what was typed is kept
    assert 'data-code="F033"' in quantity
    document = ItemDocument.objects.get(item__declaration=declaration)
    assert str(document.imputation_quantity) == "100.000"
    assert sum(r.quantity for r in Reservation.objects.filter(declaration=declaration)) == 100


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item-0-commodity_code": "12AB"}, "item-0-commodity_code"),
        ({"item-0-origin_country": "ZZ"}, "item-0-origin_country"),
        ({"item-0-net_mass_kg": "-3"}, "item-0-net_mass_kg"),
        ({"item-0-net_mass_kg": "1e400"}, "item-0-net_mass_kg"),
        ({"item-0-doc-0-quantity": "beaucoup"}, "item-0-doc-0-quantity"),
        ({"item-0-doc-0-line": "x" * 5}, "item-0-doc-0-line"),
        ({"item-0-doc-0-date": "2016-13-45"}, "item-0-doc-0-date"),
        ({"item-0-doc-0-code": "24 3"}, "item-0-doc-0-code"),
        ({"importer_eori": "FR000"}, "importer_eori"),
        ({"client_reference": ""}, "client_reference"),
        ({"client_reference": "x" * 500}, "client_reference"),
        ({"post": "NOWHERE"}, "post"),
        ({"special_mentions": "73000 bad-mention!"}, "special_mentions"),
        ({"item-0-doc-1-code": "2413"}, "item-0-doc-1-reference"),
    ],
)
def test_bad_input_is_answered_beside_the_field_and_changes_nothing(
    operator_client, company, change, field
):
    declaration, _ = validated(company)
    url = reverse("gun:declaration-rectify", args=[declaration.pk])
    data = form_data(operator_client.get(url))
    data.update(change)
    response = operator_client.post(url, data)
    assert response.status_code == 400, text(response)[:500]
    assert f'data-testid="error-{field}"' in response.content.decode()
    after = Declaration.objects.get(pk=declaration.pk)
    assert (after.version, after.last_run_id) == (declaration.version, declaration.last_run_id)


def test_hostile_posts_are_answered_without_a_500(operator_client, company):
    declaration, _ = validated(company)
    url = reverse("gun:declaration-rectify", args=[declaration.pk])
    data = form_data(operator_client.get(url))
    for hostile in (
        {},
        {"version": "abc"},
        {**data, "item-0-doc-0-quantity": ["1", "2"]},
        {**data, "item-0-doc-0-has_sheet": "on", "item-0-doc-0-unit": "\x00"},
        {**data, "item-9-commodity_code": "12099180"},
    ):
        response = operator_client.post(url, hostile)
        assert response.status_code in (302, 400, 409, 422), (hostile, response.status_code)
    assert Declaration.objects.get(pk=declaration.pk).status == "validated"


def test_a_stale_form_is_refused_and_shown_again_as_it_is_now(operator_client, company):
    declaration, _ = validated(company)
    url = reverse("gun:declaration-rectify", args=[declaration.pk])
    data = form_data(operator_client.get(url))
    data["version"] = str(declaration.version - 1)
    data["item-0-doc-0-quantity"] = "50"
    response = operator_client.post(url, data)
    assert response.status_code == 409
    assert 'data-testid="form-errors"' in response.content.decode()
    assert (
        str(ItemDocument.objects.get(item__declaration=declaration).imputation_quantity)
        == "100.000"
    )


def test_removing_and_adding_documents(operator_client, company):
    declaration, first = validated(company, quantity="100")
    second = publish_di(holder=company.eori, quantity="500").reference
    url = reverse("gun:declaration-rectify", args=[declaration.pk])
    data = form_data(operator_client.get(url))
    data.update(
        {
            "item-0-doc-0-remove": "on",
            "item-0-doc-1-code": "2413",
            "item-0-doc-1-reference": second,
            "item-0-doc-1-has_sheet": "on",
            "item-0-doc-1-line": "1",
            "item-0-doc-1-quantity": "100",
            "item-0-doc-1-unit": "KGM",
        }
    )
    response = operator_client.post(url, data)
    assert response.status_code == 302, text(response)[:2000]
    references = list(
        ItemDocument.objects.filter(item__declaration=declaration).values_list(
            "reference", flat=True
        )
    )
    assert references == [second]
    held = {r.line.document.reference for r in Reservation.objects.filter(declaration=declaration)}
    assert held == {second}
    assert first not in held


def test_rectify_is_refused_for_a_declaration_that_is_not_validated(operator_client, company):
    anticipated, _ = lodge(company)
    url = reverse("gun:declaration-rectify", args=[anticipated.pk])
    assert operator_client.get(url).status_code == 302
    assert operator_client.post(url, {"version": str(anticipated.version)}).status_code == 409


def test_detail_queries_do_not_grow_with_items(
    operator_client, company, django_assert_max_num_queries
):
    small, _ = validated(company)
    with django_assert_max_num_queries(40) as few:
        operator_client.get(reverse("gun:declaration-rectify", args=[small.pk]))
    from gun import services

    references = [publish_di(holder=company.eori).reference for _ in range(6)]
    body = payload(
        company.eori,
        *[item(n + 1, di_doc(ref, "100"), net_mass="100.000") for n, ref in enumerate(references)],
    )
    big = services.declaration_register(
        company=company, data=service_data(body), by="t"
    ).declaration
    services.declaration_validate(declaration=big, by="t")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = operator_client.get(reverse("gun:declaration-rectify", args=[big.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_concerns_a_field_the_page_labels(code: str) -> None:
    from gun.forms import FIELD_LABELS, message_place

    place = message_place(code, 0)
    assert place.level in {"header", "item", "document", "sheet"}
    assert place.field in FIELD_LABELS
