"""The GUN REST contract (API.md): every endpoint, its status codes and error bodies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gun.engine import is_valid_mrn
from gun.models import Declaration, LedgerEntry, PartnerDocument
from tests.gun.factories import di_doc, item, payload

pytestmark = pytest.mark.django_db

DECLARATIONS = "/api/v1/declarations/"


def url(declaration: dict, action: str = "") -> str:
    return f"{DECLARATIONS}{declaration['id']}/" + (f"{action}/" if action else "")


# --- partner documents ----------------------------------------------------------------------


def di_body(holder: str, reference: str, quantity: str = "123.000", **extra) -> dict:
    return {
        "code": "2413",
        "reference": reference,
        "status": "VAL",
        "holder_eori": holder,
        "issued_on": "2016-01-12",
        "lines": [
            {
                "line": 1,
                "commodity_code": "12099180",
                "origin_country": "MA",
                "quantity": quantity,
                "unit": "KGM",
            }
        ],
        **extra,
    }


def test_partner_publishes_a_document_then_republishes_it_idempotently(semae, company):
    body = di_body(company.eori, "2016-01-0000122-00")
    first = semae.post("/api/v1/partner-documents/", body, format="json")
    assert first.status_code == 201, first.json()
    again = semae.post("/api/v1/partner-documents/", body, format="json")
    assert again.status_code == 200
    assert again.json()["version"] == first.json()["version"]
    line = again.json()["lines"][0]
    assert (line["initial"], line["reserved"], line["imputed"], line["available"]) == (
        "123.000",
        "0.000",
        "0.000",
        "123.000",
    )
    assert PartnerDocument.objects.count() == 1


@pytest.mark.parametrize(
    ("partner", "code", "reference", "expected"),
    [
        ("SEMAE", "2413", "2016-01-0000122-00", 201),
        ("SEMAE", "N853", "CHEDP.FR.2024.0000001", 403),
        ("TRACES", "N853", "CHEDP.FR.2024.0000001", 201),
        ("TRACES", "2413", "2016-01-0000122-00", 403),
        ("CITES", "C638", "FR/24/0001", 201),
        ("CITES", "C085", "CHEDPP.FR.2024.0000001", 403),
        ("DELTA", "2413", "2016-01-0000122-00", 403),
    ],
)
def test_a_partner_publishes_only_its_own_document_codes(
    api, partner_key, company, partner, code, reference, expected
):
    body = di_body(company.eori, reference, code=code)
    response = api(partner_key(partner)).post("/api/v1/partner-documents/", body, format="json")
    assert response.status_code == expected, response.json()
    if expected == 403:
        assert response.json()["code"] in ("document_code_not_allowed", "partner_key_required")
        assert PartnerDocument.objects.count() == 0


def test_a_company_key_cannot_publish(client_co, company):
    response = client_co.post(
        "/api/v1/partner-documents/", di_body(company.eori, "2016-01-0000122-00"), format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "9999"}, "code"),
        ({"status": "XXX"}, "status"),
        ({"holder_eori": "FR123"}, "holder_eori"),
        ({"reference": "x" * 36}, "reference"),
        ({"extra": 1}, "extra"),
        (
            {
                "lines": [
                    {
                        "line": 1,
                        "commodity_code": "12A",
                        "origin_country": "MA",
                        "quantity": "1",
                        "unit": "KGM",
                    }
                ]
            },
            "lines",
        ),
        (
            {
                "lines": [
                    {
                        "line": 1,
                        "commodity_code": "1209",
                        "origin_country": "XX",
                        "quantity": "1",
                        "unit": "KGM",
                    }
                ]
            },
            "lines",
        ),
        (
            {
                "lines": [
                    {
                        "line": 1,
                        "commodity_code": "1209",
                        "origin_country": "MA",
                        "quantity": "-1",
                        "unit": "KGM",
                    }
                ]
            },
            "lines",
        ),
        (
            {
                "lines": [
                    {
                        "line": 1,
                        "commodity_code": "1209",
                        "origin_country": "MA",
                        "quantity": "1.0001",
                        "unit": "KGM",
                    }
                ]
            },
            "lines",
        ),
    ],
)
def test_bad_partner_document_is_400_with_field_errors_and_nothing_stored(
    semae, company, change, field
):
    body = {**di_body(company.eori, "2016-01-0000122-00"), **change}
    response = semae.post("/api/v1/partner-documents/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert PartnerDocument.objects.count() == 0


def test_malformed_json_is_400(semae):
    response = semae.post(
        "/api/v1/partner-documents/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_partner_document_is_visible_to_its_partner_and_its_holder_only(
    api, partner_key, company, other_company_key, client_co, di
):
    path = f"/api/v1/partner-documents/2413/{di.reference}/"
    assert api(partner_key("SEMAE")).get(path).status_code == 200
    assert client_co.get(path).status_code == 200
    assert api(other_company_key).get(path).status_code == 404
    assert api(partner_key("TRACES")).get(path).status_code == 404
    assert api(partner_key("DELTA")).get(path).status_code == 404
    assert api().get(path).status_code == 401


def test_cites_reference_with_slashes_is_reachable(api, partner_key, company):
    cites = api(partner_key("CITES"))
    body = di_body(company.eori, "FR/24/0001", code="C638")
    assert cites.post("/api/v1/partner-documents/", body, format="json").status_code == 201
    assert cites.get("/api/v1/partner-documents/C638/FR/24/0001/").status_code == 200


def test_republishing_an_initial_below_what_is_used_is_409(semae, company, lodge, client_co, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100")))
    assert client_co.post(url(declaration, "validate")).status_code == 200
    body = di_body(company.eori, di.reference, quantity="99.999")
    response = semae.post("/api/v1/partner-documents/", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "quantity_below_used"
    line = PartnerDocument.objects.get(pk=di.pk).lines.get()
    assert line.quantity == Decimal("123.000")
    ok = semae.post(
        "/api/v1/partner-documents/", di_body(company.eori, di.reference, "100"), format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["lines"][0]["available"] == "0.000"


# --- declarations: lifecycle ----------------------------------------------------------------


def test_register_returns_201_with_the_anticipation_run(lodge, company, di):
    body = lodge(payload(company.eori, item(1, di_doc(di.reference, "200"), net_mass="200")))
    assert body["status"] == "anticipated"
    assert body["mrn"] is None
    assert body["control_required"] is False
    assert body["gun"]["stage"] == "anticipation"
    assert body["gun"]["outcome"] == "informative"
    [message] = body["gun"]["messages"]
    assert message == {
        "code": "F033",
        "label": "Quantité trop importante sur la fiche d'imputation",
        "label_en": "Quantity on the imputation sheet too large",
        "advice": message["advice"],
        "advice_en": message["advice_en"],
        "item": 1,
        "document_code": "2413",
        "reference": di.reference,
        "forceable": False,
        "passive": False,
    }
    assert body["items"][0]["documents"][0]["imputation"]["quantity"] == "200.000"


def test_validate_accepts_assigns_an_mrn_and_reserves(lodge, client_co, company, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    response = client_co.post(url(declaration, "validate"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "validated"
    assert body["gun"] == {
        **body["gun"],
        "stage": "validation",
        "outcome": "accepted",
        "messages": [],
    }
    assert is_valid_mrn(body["mrn"]) and body["mrn"][2:4] == "FR" and body["mrn"][16] == "R"
    line = di.lines.get()
    line.refresh_from_db()
    assert line.reserved == Decimal("123") and line.available == 0


def test_validate_rejected_is_422_with_messages_and_stays_anticipated(
    lodge, client_co, company, di
):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference, "500"), net_mass="500")))
    response = client_co.post(url(declaration, "validate"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "gun_rejected"
    assert body["status"] == "anticipated" and body["mrn"] is None
    assert body["gun"]["stage"] == "validation" and body["gun"]["outcome"] == "rejected"
    assert [m["code"] for m in body["gun"]["messages"]] == ["F033"]
    assert not LedgerEntry.objects.exists()


def test_validating_twice_is_409_naming_the_status(lodge, client_co, company, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    assert client_co.post(url(declaration, "validate")).status_code == 200
    again = client_co.post(url(declaration, "validate"))
    assert again.status_code == 409
    assert again.json()["code"] == "status_validated"
    assert LedgerEntry.objects.count() == 1


def test_put_replaces_an_anticipated_declaration_and_reruns_anticipation(
    lodge, client_co, company, di
):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference, "500"), net_mass="500")))
    response = client_co.put(
        url(declaration), payload(company.eori, item(1, di_doc(di.reference))), format="json"
    )
    assert response.status_code == 200
    assert response.json()["gun"]["messages"] == []
    assert response.json()["version"] == declaration["version"] + 1
    client_co.post(url(declaration, "validate"))
    refused = client_co.put(
        url(declaration), payload(company.eori, item(1, di_doc(di.reference))), format="json"
    )
    assert refused.status_code == 409 and refused.json()["code"] == "status_validated"


def test_release_by_delta_imputes_and_release_again_is_409(lodge, client_co, delta, company, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    assert client_co.post(url(declaration, "release")).status_code == 403
    early = delta.post(url(declaration, "release"))
    assert early.status_code == 409 and early.json()["code"] == "status_anticipated"
    client_co.post(url(declaration, "validate"))
    released = delta.post(url(declaration, "release"))
    assert released.status_code == 200 and released.json()["status"] == "released"
    di.refresh_from_db()
    assert di.status == "EPU"
    again = delta.post(url(declaration, "release"))
    assert again.status_code == 409 and again.json()["code"] == "status_released"


def test_cancel_releases_reservations_and_cancel_again_is_409(lodge, client_co, company, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    client_co.post(url(declaration, "validate"))
    response = client_co.post(url(declaration, "cancel"))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    line = di.lines.get()
    assert (line.reserved, line.imputed) == (0, 0)
    again = client_co.post(url(declaration, "cancel"))
    assert again.status_code == 409 and again.json()["code"] == "status_cancelled"


def test_release_blocked_while_control_open_then_allowed_when_justified(
    lodge, client_co, delta, company, operator
):
    from gun.services import control_decide

    # F001 (unknown DI) is forceable: 73000 validates with a control.
    body = payload(company.eori, item(1, di_doc("2016-01-9999999-00")), mentions=["73000"])
    declaration = lodge(body)
    validated = client_co.post(url(declaration, "validate"))
    assert validated.status_code == 200
    assert validated.json()["gun"]["outcome"] == "accepted_with_control"
    assert validated.json()["control_required"] is True
    blocked = delta.post(url(declaration, "release"))
    assert blocked.status_code == 409 and blocked.json()["code"] == "control_open"
    control_decide(
        declaration=Declaration.objects.get(pk=declaration["id"]),
        decision="justified",
        comment="ok",
        agent=operator,
    )
    assert delta.post(url(declaration, "release")).status_code == 200


def test_unjustified_control_blocks_release_until_a_passing_rectification(
    lodge, client_co, delta, company, operator, di
):
    from gun.services import control_decide

    body = payload(company.eori, item(1, di_doc("2016-01-9999999-00")), mentions=["73000"])
    declaration = lodge(body)
    client_co.post(url(declaration, "validate"))
    control_decide(
        declaration=Declaration.objects.get(pk=declaration["id"]),
        decision="unjustified",
        agent=operator,
    )
    blocked = delta.post(url(declaration, "release"))
    assert blocked.status_code == 409 and blocked.json()["code"] == "control_unjustified"
    # 73000 has no effect at rectification: the unknown DI still rejects.
    rejected = client_co.post(url(declaration, "rectify"), body, format="json")
    assert rejected.status_code == 422
    good = payload(company.eori, item(1, di_doc(di.reference)), mentions=["73000"])
    assert client_co.post(url(declaration, "rectify"), good, format="json").status_code == 200
    assert delta.post(url(declaration, "release")).status_code == 200


def test_rectify_needs_a_validated_declaration(lodge, client_co, company, di):
    body = payload(company.eori, item(1, di_doc(di.reference)))
    declaration = lodge(body)
    response = client_co.post(url(declaration, "rectify"), body, format="json")
    assert response.status_code == 409 and response.json()["code"] == "status_anticipated"


def test_list_filters_by_status_mrn_and_control(lodge, client_co, company, di):
    first = lodge(payload(company.eori, item(1, di_doc(di.reference)), ref="A"))
    lodge(payload(company.eori, item(1, di_doc(di.reference)), ref="B"))
    mrn = client_co.post(url(first, "validate")).json()["mrn"]

    def ids(query: str) -> list[str]:
        response = client_co.get(DECLARATIONS + query)
        assert response.status_code == 200, response.json()
        return [d["client_reference"] for d in response.json()["results"]]

    assert sorted(ids("")) == ["A", "B"]
    assert ids("?status=validated") == ["A"]
    assert ids(f"?mrn={mrn}") == ["A"]
    assert sorted(ids("?control_required=false")) == ["A", "B"]
    assert ids("?control_required=true") == []
    bad = client_co.get(DECLARATIONS + "?status=nope")
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
    assert client_co.get(DECLARATIONS + "?colour=red").status_code == 400


def test_list_query_count_does_not_grow_with_declarations(lodge, client_co, company, di):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client_co.get(DECLARATIONS).status_code == 200
        return len(context.captured_queries)

    for n in range(2):
        lodge(payload(company.eori, item(1, di_doc(di.reference)), ref=f"R{n}"))
    few = count()
    for n in range(6):
        lodge(payload(company.eori, item(1, di_doc(di.reference)), item(2), ref=f"S{n}"))
    assert count() == few


# --- isolation -------------------------------------------------------------------------------


def test_another_companys_declaration_is_404_on_every_endpoint(
    lodge, api, other_company_key, company, di
):
    body = payload(company.eori, item(1, di_doc(di.reference)))
    declaration = lodge(body)
    other = api(other_company_key)
    assert other.get(url(declaration)).status_code == 404
    assert other.put(url(declaration), body, format="json").status_code == 404
    for action in ("validate", "cancel"):
        assert other.post(url(declaration, action)).status_code == 404
    assert other.post(url(declaration, "rectify"), body, format="json").status_code == 404
    assert other.get(DECLARATIONS).json()["results"] == []
    assert Declaration.objects.get().status == "anticipated"


def test_partner_keys_cannot_use_company_endpoints(lodge, api, partner_key, company, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    semae = api(partner_key("SEMAE"))
    assert semae.get(DECLARATIONS).status_code == 403
    assert semae.get(url(declaration)).status_code == 403
    assert semae.post(url(declaration, "validate")).status_code == 403
    assert (
        api(partner_key("DELTA"))
        .post(f"{DECLARATIONS}00000000-0000-0000-0000-000000000000/release/")
        .status_code
        == 404
    )


# --- bad input -------------------------------------------------------------------------------


def _good(company) -> dict:
    return payload(company.eori, item(1, di_doc("2016-01-0000122-00")))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(extra=1), "extra"),
        (lambda b: b.update(importer_eori="FR123456789"), "importer_eori"),
        (lambda b: b.update(client_reference="x" * 71), "client_reference"),
        (lambda b: b.update(special_mentions="73000"), "special_mentions"),
        (lambda b: b.update(items=[]), "items"),
        (lambda b: b["items"][0].update(commodity_code="123456789"), "items"),
        (lambda b: b["items"][0].update(commodity_code="12345678a"), "items"),
        (lambda b: b["items"][0].update(origin_country="ZZ"), "items"),
        (lambda b: b["items"][0].update(origin_country="ma"), "items"),
        (lambda b: b["items"][0].update(net_mass_kg="-1"), "items"),
        (lambda b: b["items"][0].update(net_mass_kg="1.0001"), "items"),
        (lambda b: b["items"][0].update(net_mass_kg="abc"), "items"),
        (lambda b: b["items"][0].update(item_number=1000), "items"),
        (lambda b: b["items"][0].update(item_number="one"), "items"),
        (lambda b: b["items"][0].update(surprise=True), "items"),
        (lambda b: b["items"].append(dict(b["items"][0])), "items"),
        (lambda b: b["items"][0]["documents"][0].update(code="24 3"), "items"),
        (lambda b: b["items"][0]["documents"][0]["imputation"].update(quantity="1.2345"), "items"),
        (lambda b: b["items"][0]["documents"][0]["imputation"].update(colour="red"), "items"),
        (lambda b: b["items"][0]["documents"][0]["imputation"].update(line="x"), "items"),
        (lambda b: b.update(post="NOPE"), "post"),
    ],
)
def test_bad_declaration_is_400_with_field_errors_and_nothing_changed(
    client_co, company, mutate, field
):
    body = _good(company)
    mutate(body)
    response = client_co.post(DECLARATIONS, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not Declaration.objects.exists()


def test_too_many_items_is_400(client_co, company):
    body = payload(company.eori, *[item(n) for n in range(1, 1001)])
    response = client_co.post(DECLARATIONS, body, format="json")
    assert response.status_code == 400


def test_bad_put_changes_nothing(lodge, client_co, company, di):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    body = payload(company.eori, item(1, di_doc(di.reference)), ref="x" * 80)
    assert client_co.put(url(declaration), body, format="json").status_code == 400
    assert client_co.post(url(declaration, "rectify"), ["x"], format="json").status_code in (
        400,
        409,
    )
    assert Declaration.objects.get().client_reference == "ACME-1"


def test_imputation_may_be_absent_or_all_null(lodge, company, di):
    absent = {"code": "2413", "reference": di.reference}
    nulls = {
        "code": "2413",
        "reference": di.reference,
        "imputation": {"line": None, "quantity": None, "unit": None},
    }
    body = lodge(payload(company.eori, item(1, absent), item(2, nulls)))
    codes = [(m["item"], m["code"]) for m in body["gun"]["messages"]]
    assert codes == [(1, "F041"), (2, "F031"), (2, "F042"), (2, "F045")]


def test_schema_documents_the_gun_endpoints(api):
    response = api().get("/api/schema/", HTTP_ACCEPT="application/json")
    text = response.content.decode()
    assert response.status_code == 200
    for path in ("/api/v1/declarations/{id}/validate/", "/api/v1/partner-documents/"):
        assert path in text
