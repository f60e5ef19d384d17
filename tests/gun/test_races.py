"""Concurrent validations (GUN_RULES §5): the balance is never oversold, under any interleaving.

Each thread has its own database connection; the data is committed (transactional_db).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from gun.models import Declaration, PartnerDocumentLine
from gun.services import GunConflict, declaration_register, declaration_validate
from gun.sql import PreparedStore
from tests.gun.factories import di_doc, item, payload, publish_di, service_data

pytestmark = pytest.mark.django_db(transaction=True)

RACERS = 20
BALANCE = "7"


def _declarations(company, *reference_lists: list[str]) -> list[Declaration]:
    out = []
    for references in reference_lists:
        items = [
            item(n, di_doc(reference, "1"), net_mass="1")
            for n, reference in enumerate(references, start=1)
        ]
        body = payload(company.eori, *items)
        out.append(
            declaration_register(company=company, data=service_data(body), by="t").declaration
        )
    return out


def _race(declarations: list[Declaration], validate: Callable[[Declaration], str]) -> Counter:
    outcomes: Counter = Counter()
    guard = threading.Lock()
    start = threading.Barrier(len(declarations))

    def run(declaration: Declaration) -> None:
        try:
            start.wait(timeout=30)
            result = validate(declaration)
        except GunConflict as exc:
            result = exc.code
        except Exception as exc:
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with guard:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(d,)) for d in declarations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_twenty_validations_for_seven_kilograms_accept_exactly_seven(company):
    di = publish_di(holder=company.eori, quantity=BALANCE)
    declarations = _declarations(company, *[[di.reference]] * RACERS)

    def validate(declaration: Declaration) -> str:
        result = declaration_validate(declaration=declaration, by="racer")
        return result.run.outcome + "".join(f":{m.code}" for m in result.run.messages.all())

    outcomes = _race(declarations, validate)
    assert outcomes == {"accepted": 7, "rejected:F033": 13}, outcomes
    line = PartnerDocumentLine.objects.get(document=di)
    assert (line.reserved, line.imputed) == (Decimal(7), 0)
    assert Declaration.objects.filter(status="validated").count() == 7


class UnlockedStore(PreparedStore):
    """The prepared store reading the documents without locking them, every racer waiting
    for all the others to have checked before it writes."""

    lock_rows = False
    checked: threading.Barrier

    def write(self, write):
        self.checked.wait(timeout=30)  # everyone has read the balance before anyone writes
        return super().write(write)


def test_without_the_lock_the_check_is_oversold_and_only_the_database_stops_it(company):
    """Proof the race is real: every racer passes the quantity check before anyone writes;
    the CHECK constraint then refuses all but seven."""
    di = publish_di(holder=company.eori, quantity=BALANCE)
    declarations = _declarations(company, *[[di.reference]] * RACERS)
    UnlockedStore.checked = threading.Barrier(RACERS)

    def validate(declaration: Declaration) -> str:
        return declaration_validate(declaration=declaration, by="racer").run.outcome

    with override_settings(GUN_VALIDATION_STORE="tests.gun.test_races.UnlockedStore"):
        outcomes = _race(declarations, validate)
    # 20 accepted by the checks; the database let only 7 through.
    assert outcomes == {"accepted": 7, "balance_exceeded": 13}, outcomes
    line = PartnerDocumentLine.objects.get(document=di)
    assert line.reserved == Decimal(7)


def test_opposite_order_on_two_documents_never_deadlocks(company):
    first = publish_di(holder=company.eori, quantity="100")
    second = publish_di(holder=company.eori, quantity="100")
    orders = [[first.reference, second.reference], [second.reference, first.reference]] * 10
    declarations = _declarations(company, *orders)

    def validate(declaration: Declaration) -> str:
        return declaration_validate(declaration=declaration, by="racer").run.outcome

    outcomes = _race(declarations, validate)
    assert outcomes == {"accepted": 20}, outcomes
    for document in (first, second):
        assert PartnerDocumentLine.objects.get(document=document).reserved == 20
