"""What records a change of quantities: the ledger for balances and reservations (append-only,
its own audit record), the row triggers for everything else on partner document lines."""

from __future__ import annotations

import pytest

from gun.models import LedgerEntry, PartnerDocumentLine, Reservation
from tests.gun.factories import di_doc, item, payload, publish_di

pytestmark = pytest.mark.django_db


def line_events(line: PartnerDocumentLine) -> list[str]:
    return list(
        PartnerDocumentLine.pgh_event_model.objects.filter(pgh_obj_id=line.pk)
        .order_by("pgh_id")
        .values_list("pgh_label", flat=True)
    )


def test_a_validation_moves_balances_through_the_ledger_not_the_line_trigger(
    client_co, company, lodge
):
    document = publish_di(holder=company.eori, quantity="100")
    line = document.lines.get()
    before = line_events(line)
    declaration = lodge(
        payload(company.eori, item(1, di_doc(document.reference, "40"), net_mass="40"))
    )
    response = client_co.post(f"/api/v1/declarations/{declaration['id']}/validate/", {})
    assert response.status_code == 200, response.json()
    line.refresh_from_db()
    assert line.reserved == 40
    assert line_events(line) == before  # no event for a balance-only update
    entry = LedgerEntry.objects.get(declaration_id=declaration["id"])
    assert (entry.phase, entry.line_id, entry.quantity) == ("reserve", line.pk, 40)
    assert entry.who and entry.at  # who, when, what: the ledger is the record of the move
    assert Reservation.objects.filter(line=line).count() == 1
    assert not Reservation.pgh_event_model.objects.exists()


def test_republishing_a_line_is_still_audited(company):
    document = publish_di(holder=company.eori, quantity="100")
    line = document.lines.get()
    publish_di(holder=company.eori, quantity="150", reference=document.reference)
    assert line_events(line) == ["insert", "update"]
