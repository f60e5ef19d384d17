"""``gun.signals.declaration_changed``: sent inside the transaction of every use case that
changes a declaration's state or GUN outcome, with the action that changed it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from gun.services import (
    control_decide,
    declaration_cancel,
    declaration_rectify,
    declaration_register,
    declaration_release,
    declaration_replace,
    declaration_validate,
)
from gun.signals import ACTIONS, declaration_changed, declaration_changed_send
from tests.gun.factories import di_doc, item, payload, publish_di, service_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard() -> Iterator[list[tuple[str, str, str, bool]]]:
    calls: list[tuple[str, str, str, bool]] = []

    def receiver(sender, *, declaration, action, **kwargs) -> None:
        # The depth of nested atomic blocks: inside the service's own transaction, it is more
        # than the test's one.
        calls.append(
            (
                action,
                declaration.status,
                declaration.control_status,
                len(connection.savepoint_ids) > 0,
            )
        )

    declaration_changed.connect(receiver, dispatch_uid="test-heard")
    yield calls
    declaration_changed.disconnect(dispatch_uid="test-heard")


def test_every_change_of_state_or_outcome_is_sent_inside_its_transaction(company, heard):
    di = publish_di(holder=company.eori, quantity="100")
    good = service_data(payload(company.eori, item(1, di_doc(di.reference, "10"), net_mass="10")))
    too_much = service_data(
        payload(company.eori, item(1, di_doc(di.reference, "500"), net_mass="500"))
    )
    forced = service_data(
        payload(
            company.eori,
            item(1, di_doc("2016-01-9999999-00", "5"), net_mass="5"),
            mentions=["73000"],
        )
    )
    declaration = declaration_register(company=company, data=too_much, by="t").declaration
    declaration_validate(declaration=declaration, by="t")  # F033: rejected
    declaration_replace(declaration=declaration, data=good, by="t")
    declaration.refresh_from_db()
    declaration_validate(declaration=declaration, by="t")
    declaration_rectify(declaration=declaration, data=too_much, by="t")  # rejected
    declaration_rectify(declaration=declaration, data=good, by="t")
    declaration_release(declaration=declaration, by="t")
    controlled = declaration_register(company=company, data=forced, by="t").declaration
    declaration_validate(declaration=controlled, by="t")
    control_decide(declaration=controlled, decision="unjustified", comment="no")
    declaration_cancel(declaration=controlled, by="t")
    assert [call[:3] for call in heard] == [
        ("anticipated", "anticipated", "none"),
        ("rejected", "anticipated", "none"),
        ("replaced", "anticipated", "none"),
        ("validated", "validated", "none"),
        ("rejected", "validated", "none"),
        ("rectified", "validated", "none"),
        ("released", "released", "none"),
        ("anticipated", "anticipated", "none"),
        ("validated", "validated", "open"),
        ("control_decided", "validated", "unjustified"),
        ("cancelled", "cancelled", "unjustified"),
    ]
    assert all(inside for *_, inside in heard)
    assert {call[0] for call in heard} == set(ACTIONS)


def test_an_unknown_action_is_refused(company):
    with pytest.raises(ValueError, match="unknown declaration action"):
        declaration_changed_send(declaration=object(), action="archived")
