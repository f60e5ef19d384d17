"""Dashboards show each role its own work, and do not grow with the data."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gun.services import declaration_register
from tests.factories import AgentFactory, MembershipFactory
from tests.gun.factories import di_doc, item, payload, publish_di, service_data
from tracking.services import consignment_create

pytestmark = pytest.mark.django_db


def add_work(company, operator, start: int, count: int) -> None:
    for n in range(start, start + count):
        consignment_create(
            company=company,
            reference=f"REF-{n}",
            container_numbers=["CSQU3054383"],
            transport_document_type="bl",
            transport_document_number=f"BL{n}",
            port="FRLEH",
            expected_arrival=timezone.now() + timedelta(days=3),
            categories=["plants"],
        )
        document = publish_di(holder=company.eori)
        declaration_register(
            company=company,
            data=service_data(
                payload(company.eori, item(1, di_doc(document.reference)), ref=f"DEC-{n}")
            ),
            by=operator,
        )


def dashboard_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_operator_dashboard_shows_only_their_company_and_does_not_grow(
    client, company, other_company
):
    operator = MembershipFactory(company=company).user
    stranger = MembershipFactory(company=other_company).user
    add_work(other_company, stranger, 0, 2)
    add_work(company, operator, 100, 2)
    client.force_login(operator)
    few, content = dashboard_queries(client)
    assert "REF-100" in content
    assert "REF-0" not in content and "DEC-0" not in content
    add_work(company, operator, 200, 8)
    many, _ = dashboard_queries(client)
    assert many == few


def test_agent_dashboard_shows_the_post(client) -> None:
    from allauth.mfa.totp.internal.auth import TOTP

    agent = AgentFactory()
    TOTP.activate(agent.user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(agent.user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert agent.post.name in response.content.decode()
