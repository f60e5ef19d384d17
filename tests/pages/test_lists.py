"""Every list page is paginated (DSFR pagination, filters kept), its search matches prefixes and
parts of references, containers, BLs, MRNs and CHEDs whatever the case, and its number of
queries does not grow with its rows."""

from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.utils import timezone

from gun.models import Declaration, PartnerDocument
from notifications.models import Delivery
from sesame.models import BorderControlPost, Company
from tests.factories import AgentFactory, MembershipFactory
from tracking.models import Consignment, DeclarationLink, Event

pytestmark = pytest.mark.django_db
_serial = itertools.count(1)


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def rows(response, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}"', response.content.decode())


def consignments(company: Company, count: int, **values) -> list[Consignment]:
    now = timezone.now()
    made = Consignment.objects.bulk_create(
        Consignment(
            company=company,
            reference=values.get("reference", f"LOT-{next(_serial):05d}"),
            container_numbers=values.get("container_numbers", ["CSQU3054383"]),
            transport_document_type="bl",
            transport_document_number=values.get("bl", f"MEDU{next(_serial):06d}"),
            port="FRLEH",
            post=BorderControlPost.objects.get(code="FRLEH4"),
            expected_arrival=now + timedelta(hours=n),
            categories=["plants"],
            ched_references=values.get("ched_references", []),
        )
        for n in range(count)
    )
    return made


def declarations(company: Company, count: int, **values) -> list[Declaration]:
    return Declaration.objects.bulk_create(
        Declaration(
            company=company,
            client_reference=values.get("client_reference", f"DEC-{next(_serial):05d}"),
            importer_eori=company.eori,
            status=values.get("status", "validated"),
            mrn=values.get("mrn", f"26FR{next(_serial):012d}RX"[:18]),
            control_required=values.get("control_required", False),
            control_status=values.get("control_status", "none"),
            post=BorderControlPost.objects.get(code="FRLEH4"),
            validated_at=timezone.now(),
        )
        for _ in range(count)
    )


# --- consignments -------------------------------------------------------------------------


def test_consignments_are_paginated_and_page_two_shows_the_next_rows(company, operator):
    made = consignments(company, 57)
    client = signed_in(operator)
    first = client.get("/tracking/")
    second = client.get("/tracking/?page=2")
    assert first.status_code == second.status_code == 200
    first_refs = set(re.findall(r"LOT-\d{5}", first.content.decode()))
    second_refs = set(re.findall(r"LOT-\d{5}", second.content.decode()))
    assert len(first_refs) == 50 and len(second_refs) == 7
    assert first_refs.isdisjoint(second_refs)
    assert first_refs | second_refs == {c.reference for c in made}
    assert 'data-testid="pagination"' in first.content.decode()
    assert "57 envois" in text(first)


def test_pagination_links_keep_the_filters(company, operator):
    consignments(company, 55)
    page = text(signed_in(operator).get("/tracking/?port=FRLEH&q=LOT"))
    assert "?port=FRLEH&q=LOT&page=2" in page


@pytest.mark.parametrize("page", ["3", "0", "abc", "-1", "1" * 40])
def test_a_page_that_does_not_exist_is_a_404_page(company, operator, page):
    consignments(company, 55)
    response = signed_in(operator).get("/tracking/", {"page": page})
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.content.decode()


@pytest.mark.parametrize(
    "typed",
    [
        "ZEBRA-0042",  # the whole reference
        "zebra",  # a prefix, lower case
        "a-004",  # a part in the middle
        "CSQU30",  # a container's prefix
        "csqu 305438 3",  # a container typed with spaces
        "4383",  # the end of a container
        "MEDU7788",  # part of the BL
        "chedpp.ma.2026",  # part of a CHED, lower case
        "2026.0001234",  # the end of a CHED
        "364916384",  # part of a linked declaration's MRN
        "client-ref-9",  # part of a linked declaration's client reference
    ],
)
def test_consignment_search_matches_parts_of_every_identifier(company, operator, typed):
    target = consignments(
        company,
        1,
        reference="ZEBRA-0042",
        container_numbers=["CSQU3054383"],
        bl="MEDU778899",
        ched_references=["CHEDPP.MA.2026.0001234"],
    )[0]
    DeclarationLink.objects.create(
        consignment=target, mrn="21DE27364916384836", client_reference="CLIENT-REF-9"
    )
    consignments(company, 3, container_numbers=["MSKU9070323"], bl="CMAU000001")
    page = text(signed_in(operator).get("/tracking/", {"q": typed}))
    assert re.findall(r"(ZEBRA-0042|LOT-\d{5})</a>", page) == ["ZEBRA-0042"]


def test_consignment_search_never_reaches_another_company(company, operator, other_company):
    consignments(other_company, 1, reference="SECRET-77")
    response = signed_in(operator).get("/tracking/", {"q": "SECRET"})
    assert "SECRET-77" not in text(response)
    assert 'data-testid="empty-consignments"' in response.content.decode()
    assert "Aucun envoi ne correspond à ces filtres" in text(response)


def test_a_search_with_percent_or_underscore_is_taken_literally(company, operator):
    consignments(company, 2)
    consignments(company, 1, reference="A_B%C")
    page = text(signed_in(operator).get("/tracking/", {"q": "_B%"}))
    assert re.findall(r"(A_B%C|LOT-\d{5})</a>", page) == ["A_B%C"]


def test_the_consignment_list_queries_do_not_grow_with_rows_or_search(
    company, operator, django_assert_num_queries
):
    client = signed_in(operator)
    consignments(company, 3)
    client.get("/tracking/")  # session and caches warm
    with django_assert_num_queries(5) as few:
        client.get("/tracking/")
    consignments(company, 120)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/tracking/")
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/tracking/?q=LOT-0&page=2")


def test_agents_list_their_post_paginated(company):
    agent = AgentFactory()
    TOTP.activate(agent.user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    consignments(company, 52)
    client = signed_in(agent.user)
    assert len(set(re.findall(r"LOT-\d{5}", client.get("/tracking/").content.decode()))) == 50
    assert len(set(re.findall(r"LOT-\d{5}", client.get("/tracking/?page=2").content.decode()))) == 2


# --- declarations, documents, review queue --------------------------------------------------


def test_declarations_are_paginated_and_searched_by_parts(company, operator):
    declarations(company, 30)
    declarations(company, 1, client_reference="ACME-ORANGES-7", mrn="25GB2XHHM4884KEAR1")
    client = signed_in(operator)
    assert len(rows(client.get("/gun/declarations/"), "declaration-row")) == 25
    assert len(rows(client.get("/gun/declarations/?page=2"), "declaration-row")) == 6
    for typed in ("oranges", "ACME-OR", "hhm4884", "25GB2X"):
        page = client.get("/gun/declarations/", {"q": typed})
        assert len(rows(page, "declaration-row")) == 1, typed
        assert "ACME-ORANGES-7" in text(page)


def test_a_declaration_search_without_match_says_so_and_offers_the_full_list(company, operator):
    declarations(company, 2)
    page = text(signed_in(operator).get("/gun/declarations/", {"q": "nothing-like-this"}))
    assert "Aucune déclaration ne correspond à ces filtres" in page
    assert "elles sont déposées par l'API" not in page
    assert 'href="/gun/declarations/"' in page


def test_the_declaration_list_queries_do_not_grow(company, operator, django_assert_num_queries):
    client = signed_in(operator)
    declarations(company, 2)
    client.get("/gun/declarations/")
    with django_assert_num_queries(5) as few:
        client.get("/gun/declarations/")
    declarations(company, 60)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/gun/declarations/?q=26FR&page=2")


def test_partner_documents_are_searched_by_parts_and_paginated(company, operator):
    PartnerDocument.objects.bulk_create(
        PartnerDocument(
            partner="SEMAE",
            code="2413",
            reference=f"2016-01-{n:07d}-00",
            holder_eori=company.eori,
        )
        for n in range(30)
    )
    PartnerDocument.objects.create(
        partner="TRACES", code="N853", reference="CHEDP.FR.2024.0009999", holder_eori=company.eori
    )
    client = signed_in(operator)
    assert len(rows(client.get("/gun/documents/"), "partner-document")) == 25
    assert len(rows(client.get("/gun/documents/?page=2"), "partner-document")) == 6
    page = client.get("/gun/documents/", {"q": "chedp.fr"})
    assert len(rows(page, "partner-document")) == 1 and "CHEDP.FR.2024.0009999" in text(page)
    assert len(rows(client.get("/gun/documents/", {"q": "0000012"}), "partner-document")) == 1


def test_the_review_queue_is_searched_and_paginated(company):
    agent = AgentFactory()
    TOTP.activate(agent.user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    declarations(company, 27, control_required=True, control_status="open")
    declarations(
        company,
        1,
        control_required=True,
        control_status="open",
        mrn="24GBBGBKCDMS965015",
        client_reference="PEARS-1",
    )
    client = signed_in(agent.user)
    assert len(rows(client.get("/gun/controls/"), "queue-row")) == 25
    assert len(rows(client.get("/gun/controls/?page=2"), "queue-row")) == 3
    page = client.get("/gun/controls/", {"q": "bgbkcd"})
    assert len(rows(page, "queue-row")) == 1 and "24GBBGBKCDMS965015" in text(page)


# --- inbox, members -------------------------------------------------------------------------


def inbox(user, company: Company, count: int) -> None:
    consignment = consignments(company, 1)[0]
    now = timezone.now()
    events = Event.objects.bulk_create(
        Event(
            consignment=consignment,
            kind="arrival",
            occurred_at=now,
            source="PORT",
            source_event_id=f"port-{next(_serial)}",
        )
        for _ in range(count)
    )
    Delivery.objects.bulk_create(
        Delivery(event=event, user=user, channel="inbox", kind="check_results", status="delivered")
        for event in events
    )


def test_the_inbox_is_paginated_with_constant_queries(company, operator, django_assert_num_queries):
    client = signed_in(operator)
    inbox(operator, company, 3)
    client.get("/notifications/")
    with django_assert_num_queries(6) as few:
        first = client.get("/notifications/")
    assert len(rows(first, "inbox-row")) == 3
    inbox(operator, company, 60)
    with django_assert_num_queries(len(few.captured_queries)):
        full = client.get("/notifications/")
    assert len(rows(full, "inbox-row")) == 50
    assert len(rows(client.get("/notifications/?page=2"), "inbox-row")) == 13


def test_members_are_paginated(company, company_admin):
    for _ in range(52):
        MembershipFactory(company=company)
    client = signed_in(company_admin)
    first = client.get("/company/members/")
    second = client.get("/company/members/?page=2")

    def emails(page) -> set[str]:
        table = page.content.decode().split('data-testid="members"')[1].split("</table>")[0]
        return set(re.findall(r"person\d+@example\.org", table))

    assert len(emails(first)) == 50 and len(emails(second)) == 3
    assert emails(first).isdisjoint(emails(second))
