"""Reads other apps and the list endpoint rely on (gun/selectors.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gun import selectors
from gun.fields import HEADER_FIELDS
from gun.models import Declaration
from gun.services import control_decide, declaration_register, declaration_release
from gun.services import declaration_validate as validate
from tests.gun.factories import di_doc, item, payload, publish_di, service_data

pytestmark = pytest.mark.django_db

UNKNOWN_DI = "2016-01-9999999-00"


def _lodge(company, *items, mentions=None, ref="R-1") -> Declaration:
    body = payload(company.eori, *items, mentions=mentions, ref=ref)
    return declaration_register(company=company, data=service_data(body), by="t").declaration


def test_the_list_answers_summaries_without_items(client_co, company):
    di = publish_di(holder=company.eori, quantity="1000")
    _lodge(company, *[item(n, di_doc(di.reference, "1"), net_mass="1") for n in range(1, 41)])
    page = client_co.get("/api/v1/declarations/").json()
    [summary] = page["results"]
    assert set(summary) == {field.name for field in HEADER_FIELDS} | {"gun"}
    assert "items" not in summary
    detail = client_co.get(f"/api/v1/declarations/{summary['id']}/").json()
    assert len(detail["items"]) == 40
    assert {k: v for k, v in detail.items() if k != "items"} == summary


def test_declarations_awaiting_control_are_the_open_controls_named_by_a_consignment(
    company, other_company
):
    forced = [item(1, di_doc(UNKNOWN_DI, "5"), net_mass="5")]
    open_one = _lodge(company, *forced, mentions=["73000"], ref="OPEN")
    decided = _lodge(company, *forced, mentions=["73000"], ref="DECIDED")
    plain = _lodge(company, item(1), ref="PLAIN")
    for declaration in (open_one, decided, plain):
        validate(declaration=declaration, by="t")
    control_decide(declaration=decided, decision="justified")
    theirs = _lodge(other_company, *forced, mentions=["73000"], ref="OPEN")
    validate(declaration=theirs, by="t")

    found = selectors.declarations_awaiting_control(
        company=company, client_references=["OPEN", "DECIDED", "PLAIN"]
    )
    assert list(found) == [open_one]
    open_one.refresh_from_db()
    by_mrn = selectors.declarations_awaiting_control(company=company, mrns=[open_one.mrn])
    assert list(by_mrn) == [open_one]
    assert not selectors.declarations_awaiting_control(company=other_company, ids=[open_one.pk])


def test_a_declaration_summary_holds_what_a_release_note_prints(company, other_company):
    di = publish_di(holder=company.eori, quantity="100")
    declaration = _lodge(company, item(1, di_doc(di.reference, "30"), net_mass="30"))
    validate(declaration=declaration, by="t")
    declaration_release(declaration=declaration, by="t")
    summary = selectors.declaration_summary(company=company, declaration_id=str(declaration.pk))
    assert summary is not None
    assert summary["status"] == "released" and summary["mrn"]
    assert selectors.declaration_summary(company=company, mrn=summary["mrn"]) == summary
    assert summary["items"][0]["documents"][0]["reference"] == di.reference
    imputed = [entry for entry in summary["ledger"] if entry["phase"] == "impute"]
    assert [(e["item_number"], e["reference"], e["quantity"]) for e in imputed] == [
        (1, di.reference, Decimal("30.000"))
    ]
    assert [run["stage"] for run in summary["runs"]] == ["validation", "anticipation"]
    others = selectors.declaration_summary(
        company=other_company, declaration_id=str(declaration.pk)
    )
    assert others is None
    assert selectors.declaration_summary(company=company, declaration_id="not-a-uuid") is None
