"""The ledger (GUN_RULES §5) through the services and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from gun.models import Declaration, LedgerEntry, PartnerDocumentLine
from gun.services import (
    declaration_cancel,
    declaration_rectify,
    declaration_register,
    declaration_release,
    declaration_validate,
)
from tests.gun.factories import (
    di_doc,
    item,
    payload,
    publish_ched,
    publish_di,
    service_data,
)

pytestmark = pytest.mark.django_db


def lodge(company, body: dict) -> Declaration:
    return declaration_register(company=company, data=service_data(body), by="test").declaration


def balance(document) -> tuple[Decimal, Decimal]:
    line = PartnerDocumentLine.objects.get(document=document)
    return line.reserved, line.imputed


def phases(declaration) -> list[tuple[str, Decimal]]:
    return [
        (e.phase, e.quantity)
        for e in LedgerEntry.objects.filter(declaration=declaration).order_by("id")
    ]


def test_reserve_then_release_then_impute_moves_the_balances(company):
    di = publish_di(holder=company.eori, quantity="300")
    first = lodge(
        company, payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100"))
    )
    assert declaration_validate(declaration=first, by="t").run.outcome == "accepted"
    assert balance(di) == (100, 0)
    declaration_cancel(declaration=first, by="t")  # release of the reservation
    assert balance(di) == (0, 0)
    assert phases(first) == [("reserve", 100), ("release", 100)]
    second = lodge(
        company, payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100"))
    )
    declaration_validate(declaration=second, by="t")
    declaration_release(declaration=second, by="t")
    assert balance(di) == (0, 100)
    assert phases(second) == [("reserve", 100), ("impute", 100)]
    entry = LedgerEntry.objects.filter(declaration=second).last()
    assert entry.closes.phase == "reserve" and entry.who == "t" and entry.state == "sent"
    di.refresh_from_db()
    assert di.status == "VAL"


def test_exhaustion_makes_the_document_epu_then_any_use_is_f022(company):
    di = publish_di(holder=company.eori, quantity="100")
    first = lodge(
        company, payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100"))
    )
    declaration_validate(declaration=first, by="t")
    declaration_release(declaration=first, by="t")
    di.refresh_from_db()
    assert di.status == "EPU"
    later = lodge(company, payload(company.eori, item(1, di_doc(di.reference, "1"), net_mass="1")))
    result = declaration_validate(declaration=later, by="t")
    assert result.rejected
    assert [m.code for m in result.run.messages.all()] == ["F022", "F033"]


def test_single_use_ched_reused_by_another_declaration_is_f022(company):
    ched = publish_ched(holder=company.eori)
    doc = {"code": "N853", "reference": ched.reference}
    first = lodge(company, payload(company.eori, item(1, doc, commodity="12099180")))
    assert declaration_validate(declaration=first, by="t").run.outcome == "accepted"
    ched.refresh_from_db()
    assert ched.used_by_id == first.pk and ched.used_state == "reserved"
    second = lodge(company, payload(company.eori, item(1, doc, commodity="12099180")))
    result = declaration_validate(declaration=second, by="t")
    assert [m.code for m in result.run.messages.all()] == ["F022"]
    declaration_release(declaration=first, by="t")
    ched.refresh_from_db()
    assert ched.used_state == "imputed"
    assert declaration_validate(declaration=second, by="t").rejected


def test_cancelled_ched_is_free_again(company):
    ched = publish_ched(holder=company.eori)
    doc = {"code": "N853", "reference": ched.reference}
    first = lodge(company, payload(company.eori, item(1, doc, commodity="12099180")))
    declaration_validate(declaration=first, by="t")
    declaration_cancel(declaration=first, by="t")
    second = lodge(company, payload(company.eori, item(1, doc, commodity="12099180")))
    assert declaration_validate(declaration=second, by="t").run.outcome == "accepted"


def test_rectification_replaces_its_own_reservation(company):
    di = publish_di(holder=company.eori, quantity="100")
    declaration = lodge(
        company, payload(company.eori, item(1, di_doc(di.reference, "80"), net_mass="80"))
    )
    declaration_validate(declaration=declaration, by="t")
    assert balance(di) == (80, 0)
    # 100 fits only because its own 80 counts as available (GUN_RULES §5).
    bigger = payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100"))
    result = declaration_rectify(declaration=declaration, data=service_data(bigger), by="t")
    assert result.run.outcome == "accepted", [m.code for m in result.run.messages.all()]
    assert balance(di) == (100, 0)
    assert phases(declaration) == [("reserve", 80), ("release", 80), ("reserve", 100)]
    too_big = payload(company.eori, item(1, di_doc(di.reference, "101"), net_mass="101"))
    rejected = declaration_rectify(declaration=declaration, data=service_data(too_big), by="t")
    assert rejected.rejected
    assert balance(di) == (100, 0)
    declaration.refresh_from_db()
    assert declaration.items.get().net_mass_kg == 100


def test_rectification_ignores_73000(company):
    di = publish_di(holder=company.eori)
    declaration = lodge(company, payload(company.eori, item(1, di_doc(di.reference))))
    declaration_validate(declaration=declaration, by="t")
    forced = payload(company.eori, item(1, di_doc("2016-01-9999999-00")), mentions=["73000"])
    result = declaration_rectify(declaration=declaration, data=service_data(forced), by="t")
    assert result.rejected and [m.code for m in result.run.messages.all()] == ["F001"]


def test_the_database_refuses_a_balance_above_the_initial_quantity(company):
    di = publish_di(holder=company.eori, quantity="10")
    line = PartnerDocumentLine.objects.get(document=di)
    for reserved, imputed in [("11", "0"), ("5", "6"), ("-1", "0"), ("0", "-1")]:
        with pytest.raises(IntegrityError), transaction.atomic():
            PartnerDocumentLine.objects.filter(pk=line.pk).update(
                reserved=Decimal(reserved), imputed=Decimal(imputed)
            )


def test_ledger_entries_carry_unique_idempotency_keys(company):
    di = publish_di(holder=company.eori, quantity="300")
    declaration = lodge(
        company, payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100"))
    )
    declaration_validate(declaration=declaration, by="t")
    entry = LedgerEntry.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            declaration=declaration,
            document=di,
            partner="SEMAE",
            quantity=1,
            phase="reserve",
            idempotency_key=entry.idempotency_key,
        )


def test_a_reservation_is_closed_once_at_most(company):
    di = publish_di(holder=company.eori, quantity="300")
    declaration = lodge(
        company, payload(company.eori, item(1, di_doc(di.reference, "100"), net_mass="100"))
    )
    declaration_validate(declaration=declaration, by="t")
    declaration_release(declaration=declaration, by="t")
    reserve = LedgerEntry.objects.get(phase="reserve")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            declaration=declaration,
            document=di,
            partner="SEMAE",
            quantity=1,
            phase="release",
            idempotency_key="replay",
            closes=reserve,
        )


def test_two_sheets_on_the_same_di_add_up(company):
    di = publish_di(holder=company.eori, quantity="100")
    body = payload(
        company.eori,
        item(1, di_doc(di.reference, "60"), net_mass="60"),
        item(2, di_doc(di.reference, "40"), net_mass="40"),
    )
    declaration = lodge(company, body)
    assert declaration_validate(declaration=declaration, by="t").run.outcome == "accepted"
    assert balance(di) == (100, 0)
    assert [(e.item_number, e.quantity) for e in LedgerEntry.objects.order_by("id")] == [
        (1, 60),
        (2, 40),
    ]


def test_validation_query_count_does_not_grow_with_items_and_documents(company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def validate_count(n: int) -> int:
        docs = [publish_di(holder=company.eori, quantity="100") for _ in range(n)]
        items = [item(i + 1, di_doc(d.reference, "10"), net_mass="10") for i, d in enumerate(docs)]
        declaration = lodge(company, payload(company.eori, *items))
        with CaptureQueriesContext(connection) as context:
            result = declaration_validate(declaration=declaration, by="t")
        assert result.run.outcome == "accepted"
        return len(context.captured_queries)

    validate_count(1)  # the first validation on a connection also prepares its statements
    assert validate_count(1) == validate_count(5)
