"""A validation through the API is cheap: a few statements whatever the declaration's size, and
an answer built from what the service already holds, identical to reading it again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gun import selectors
from gun.api.serializers import DeclarationOutput
from tests.gun.factories import di_doc, item, payload, publish_ched, publish_di

pytestmark = pytest.mark.django_db

# Statements of an accepted validation seen by the test client, which runs inside the test's
# transaction: the service's transaction shows as a SAVEPOINT and its RELEASE here, and the
# per-process copies (API key, partner links, check modes) are never used inside a transaction,
# so they are read: key, declaration, content, links, modes, SAVEPOINT, lock_timeout,
# declaration FOR UPDATE, documents, lines, run, ledger entries, balances, reservations, MRN
# serial, status, tracking's link check, RELEASE. Through the API with warm copies: 13 plus
# BEGIN and COMMIT.
MAX_STATEMENTS = 18


def validate(client_co, declaration: dict):
    return client_co.post(f"/api/v1/declarations/{declaration['id']}/validate/", {}, format="json")


def as_read_again(declaration: dict) -> dict:
    return dict(DeclarationOutput(selectors.declaration_get(pk=declaration["id"])).data)


def test_accepted_validation_answers_exactly_what_a_read_returns(client_co, company, lodge):
    documents = [publish_di(holder=company.eori, quantity="100") for _ in range(3)]
    body = payload(
        company.eori,
        item(1, di_doc(documents[0].reference, "10", trade_name="Graines"), net_mass="10"),
        item(
            2,
            di_doc(documents[1].reference, "10"),
            di_doc(documents[2].reference, "5"),
            net_mass="15",
        ),
        mentions=["73000"],
    )
    body["post"] = "FRLEH4"
    declaration = lodge(body)
    response = validate(client_co, declaration)
    assert response.status_code == 200, response.json()["gun"]["messages"]
    assert response.json()["status"] == "validated"
    assert response.json() == as_read_again(declaration)


def test_rejected_validation_answers_the_messages_as_a_read_returns_them(client_co, company, lodge):
    ched = publish_ched(holder=company.eori)
    di = publish_di(holder=company.eori, quantity="1")
    body = payload(
        company.eori,
        item(1, di_doc(di.reference, "50", amount="12.5", currency="EUR"), net_mass="50"),
        item(2, {"code": "N853", "reference": ched.reference, "date": None, "imputation": None}),
        item(3, di_doc("not-a-reference", None)),
    )
    declaration = lodge(body)
    response = validate(client_co, declaration)
    assert response.status_code == 422
    answer = response.json()
    assert answer["code"] == "gun_rejected"
    assert answer["gun"]["messages"]
    read = as_read_again(declaration)
    assert {k: v for k, v in answer.items() if k in read} == read


def test_forced_validation_with_control_answers_as_a_read_returns_it(client_co, company, lodge):
    body = payload(
        company.eori, item(1, di_doc("2016-01-9999999-00", "5"), net_mass="5"), mentions=["73000"]
    )
    declaration = lodge(body)
    response = validate(client_co, declaration)
    assert response.status_code == 200
    assert response.json()["control_status"] == "open"
    assert response.json() == as_read_again(declaration)


def test_validation_statements_are_few_and_the_same_for_1x1_and_5x5(client_co, company, lodge):
    def statements(n: int) -> int:
        items = [
            item(
                i + 1,
                *(
                    di_doc(publish_di(holder=company.eori, quantity="100").reference, "1")
                    for _ in range(n)
                ),
                net_mass=str(n),
            )
            for i in range(n)
        ]
        declaration = lodge(payload(company.eori, *items))
        with CaptureQueriesContext(connection) as context:
            response = validate(client_co, declaration)
        assert response.status_code == 200, response.json()["gun"]["messages"]
        return len(context.captured_queries)

    one, five = statements(1), statements(5)
    assert one == five
    assert five <= MAX_STATEMENTS


@pytest.mark.django_db(transaction=True)
def test_cached_check_modes_and_links_follow_every_change(company):
    """Outside a transaction the configuration comes from the process's copy; a change made
    through the services is seen by the next validation, and the copy spares the queries."""
    from gun.adapters import adapters_for
    from gun.services import check_mode_set, declaration_register, declaration_validate
    from gun.services.runs import check_modes
    from tests.gun.factories import service_data

    assert check_modes() == {}
    with CaptureQueriesContext(connection) as context:
        assert check_modes() == {}
        assert adapters_for({"SEMAE"}, cached=True)["SEMAE"].kind == "local"
        assert adapters_for({"SEMAE"}, cached=True)["SEMAE"].kind == "local"
    assert len(context.captured_queries) == 1  # the links once; the modes were cached

    check_mode_set(profile_code="2413", check_code="F046", mode="passive", by="admin")
    assert check_modes() == {("2413", "F046"): "passive"}
    di = publish_di(holder=company.eori)
    body = payload(company.eori, item(1, di_doc(di.reference, "123")))
    body["items"][0]["origin_country"] = "BR"  # F046, passive: accepted
    declaration = declaration_register(company=company, data=service_data(body), by="t")
    result = declaration_validate(declaration=declaration.declaration, by="t")
    assert result.run.outcome == "accepted"
    assert [(m.code, m.passive) for m in result.messages] == [("F046", True)]

    check_mode_set(profile_code="2413", check_code="F046", mode="live", by="admin")
    assert check_modes() == {}
