"""Special mention 73000 through the API (GUN_RULES §4), check modes, partner publishing."""

from __future__ import annotations

import pytest

from gun.models import Declaration, LedgerEntry
from gun.services import GunInvalid, check_mode_set, declaration_validate
from tests.gun.factories import di_doc, item, payload

pytestmark = pytest.mark.django_db

UNKNOWN_DI = "2016-01-9999999-00"  # well formed, unknown to SEMAE: F001 (forceable)


def _case(company, di, case: str) -> dict:
    if case == "none":
        return item(1, di_doc(di.reference))
    if case == "F001":
        return item(1, di_doc(UNKNOWN_DI))
    if case == "F032":
        return item(1, di_doc(di.reference), commodity="0101210000")
    if case == "F033":
        return item(1, di_doc(di.reference, "500"), net_mass="500")
    if case == "F032+F046":
        body = item(1, di_doc(di.reference), commodity="0101210000")
        body["origin_country"] = "CA"
        return body
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "mention", "status", "outcome", "control"),
    [
        ("none", False, 200, "accepted", False),
        ("none", True, 200, "accepted", False),  # 73000 without message changes nothing
        ("F001", False, 422, "rejected", False),
        ("F001", True, 200, "accepted_with_control", True),
        ("F032", True, 200, "accepted_with_control", True),
        ("F032", False, 422, "rejected", False),
        ("F033", True, 422, "rejected", False),  # not forceable
        ("F032+F046", True, 422, "rejected", False),  # one unforceable message is enough
    ],
)
def test_73000_matrix_at_validation(
    lodge, client_co, company, di, case, mention, status, outcome, control
):
    body = payload(company.eori, _case(company, di, case), mentions=["73000"] if mention else [])
    declaration = lodge(body)
    response = client_co.post(f"/api/v1/declarations/{declaration['id']}/validate/")
    assert response.status_code == status, response.json()
    data = response.json()
    assert data["gun"]["outcome"] == outcome
    assert data["control_required"] is control
    assert data["control_status"] == ("open" if control else "none")
    assert (data["mrn"] is not None) is (status == 200)


def test_passive_check_is_recorded_but_never_blocks(lodge, client_co, company, di):
    check_mode_set(profile_code="2413", check_code="F046", mode="passive", by="admin")
    body = item(1, di_doc(di.reference))
    body["origin_country"] = "CA"
    declaration = lodge(payload(company.eori, body))
    response = client_co.post(f"/api/v1/declarations/{declaration['id']}/validate/")
    assert response.status_code == 200
    [message] = response.json()["gun"]["messages"]
    assert (message["code"], message["passive"]) == ("F046", True)
    assert response.json()["gun"]["outcome"] == "accepted"


@pytest.mark.parametrize(
    ("profile", "check", "mode"),
    [
        ("2413", "F033", "passive"),
        ("2413", "F022", "passive"),
        ("N853", "F033", "live"),
        ("9999", "F001", "live"),
        ("2413", "F046", "loud"),
    ],
)
def test_check_mode_refuses_what_cannot_be(profile, check, mode):
    with pytest.raises(GunInvalid):
        check_mode_set(profile_code=profile, check_code=check, mode=mode)


def test_rejected_validation_writes_no_ledger_entry(company, di, lodge):
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference, "500"), net_mass="500")))
    result = declaration_validate(declaration=Declaration.objects.get(pk=declaration["id"]), by="t")
    assert result.rejected and not LedgerEntry.objects.exists()


def test_validation_of_content_replaced_after_it_was_read(lodge, client_co, company, di):
    """The API reads the declaration before any lock; a replacement that commits before the
    lock is taken is what gets validated: its documents are locked and reserved, not the ones
    read first."""
    from decimal import Decimal

    from gun import selectors
    from gun.services import declaration_replace
    from tests.gun.factories import publish_di, service_data

    other = publish_di(holder=company.eori)
    declaration = lodge(payload(company.eori, item(1, di_doc(di.reference))))
    read, content = selectors.declaration_with_content(pk=declaration["id"], company=company)
    assert content[0]["documents"][0]["reference"] == di.reference
    stored = Declaration.objects.get(pk=declaration["id"])
    declaration_replace(
        declaration=stored,
        data=service_data(payload(company.eori, item(1, di_doc(other.reference)))),
        by="someone else",
    )

    result = declaration_validate(declaration=read, content=content, by="operator")

    assert result.run.outcome == "accepted"
    assert result.declaration.version == read.version + 2  # replaced, then validated
    assert [d["reference"] for d in result.content[0]["documents"]] == [other.reference]
    reserved = {e.reference: e.quantity for e in LedgerEntry.objects.filter(declaration=stored)}
    assert reserved == {other.reference: Decimal("123.000")}
    other_line, first_line = other.lines.get(), di.lines.get()
    assert (other_line.reserved, first_line.reserved) == (Decimal("123.000"), Decimal("0"))
