"""What propagation records and sends (GUN_RULES §5, §6; docs/gun.md, "Propagation"): a
partner that cannot be reached shows as down with each attempt recorded, and a single-use
document is sent with the quantity the ledger holds for it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from gun.engine import PartnerUnavailable
from gun.models import LedgerEntry, PartnerLink
from gun.services import (
    declaration_register,
    declaration_release,
    declaration_validate,
    partner_link_set,
)
from gun.tasks import propagation_flush
from tests.gun.factories import item, payload, service_data
from tests.gun.test_propagation import FakePartner, _lodge

pytestmark = pytest.mark.django_db

CHED = "CHEDP.FR.2024.0000042"


@pytest.fixture
def remote(company) -> Iterator[FakePartner]:
    partner = FakePartner(company.eori)
    partner_link_set(
        partner="SEMAE", kind="http", base_url=partner.url, connect_timeout=0.5, read_timeout=0.5
    )
    yield partner
    partner.close()


def test_an_unreachable_partner_shows_down_with_each_attempt_recorded(company, remote):
    declaration = _lodge(company, "10")
    assert declaration_validate(declaration=declaration, by="t").run.outcome == "accepted"
    entry = LedgerEntry.objects.get()
    assert (entry.state, entry.attempts) == ("pending", 0)
    # The partner stops answering: connections are refused.
    PartnerLink.objects.filter(partner="SEMAE").update(base_url="http://127.0.0.1:9/")
    for attempt in (1, 2):
        with pytest.raises(PartnerUnavailable):
            propagation_flush(partner="SEMAE")
        entry.refresh_from_db()
        assert (entry.state, entry.attempts) == ("pending", attempt)
        assert "ConnectionError" in entry.last_error
        link = PartnerLink.objects.get(partner="SEMAE")
        assert link.up is False
        assert "ConnectionError" in link.last_error
    # Back: delivered, the link up again.
    PartnerLink.objects.filter(partner="SEMAE").update(base_url=remote.url)
    assert propagation_flush(partner="SEMAE") == 1
    entry.refresh_from_db()
    assert (entry.state, entry.attempts, entry.last_error) == ("sent", 3, "")
    assert PartnerLink.objects.get(partner="SEMAE").up is True


@pytest.fixture
def traces(company) -> Iterator[FakePartner]:
    partner = FakePartner(company.eori)
    partner.documents[f"N853/{CHED}"] = {
        "status": "VAL",
        "holder_eori": company.eori,
        "used_by_other": False,
        "lines": [
            {
                "line": 1,
                "commodity_code": "1209",
                "origin_country": "MA",
                "quantity": "640.500",
                "unit": "KGM",
                "available": "640.500",
            },
            {
                "line": 2,
                "commodity_code": "1209",
                "origin_country": "MA",
                "quantity": "9.500",
                "unit": "KGM",
                "available": "9.500",
            },
        ],
    }
    partner_link_set(
        partner="TRACES", kind="http", base_url=partner.url, connect_timeout=0.5, read_timeout=0.5
    )
    yield partner
    partner.close()


def test_a_single_use_document_is_sent_with_the_quantity_the_ledger_holds(company, traces):
    ched = {"code": "N853", "reference": CHED, "date": None, "imputation": None}
    body = payload(company.eori, item(1, ched), item(2, ched))
    declaration = declaration_register(company=company, data=service_data(body), by="t").declaration
    assert declaration_validate(declaration=declaration, by="t").run.outcome == "accepted"
    declaration_release(declaration=declaration, by="t")
    assert propagation_flush(partner="TRACES") == 2
    # Reserved whole (once, though two items cite it), then imputed whole.
    assert [(b["code"], b["reference"], b["quantity"]) for b in traces.bodies] == [
        ("N853", CHED, "650.000"),
        ("N853", CHED, "650.000"),
    ]
    assert [b["whole_document"] for b in traces.bodies] == [True, True]
    assert set(LedgerEntry.objects.values_list("quantity", flat=True)) == {Decimal("650.000")}
