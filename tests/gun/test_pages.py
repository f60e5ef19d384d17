"""GUN pages: who may open what, what they show, and lists that do not grow in queries."""

from __future__ import annotations

import html
import itertools
import uuid
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gun.models import (
    CheckMode,
    Control,
    Declaration,
    DeclarationItem,
    GunMessage,
    GunRun,
    ItemDocument,
    LedgerEntry,
    PartnerDocument,
    PartnerDocumentLine,
    PartnerLink,
    Reservation,
)
from sesame.models import BorderControlPost, Company
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_serial = itertools.count(1)


def text(response) -> str:
    return html.unescape(response.content.decode())


def mrn() -> str:
    return f"26FR{next(_serial):012d}RX"[:18]


def make_declaration(
    company: Company,
    *,
    status: str = "validated",
    control: str = "open",
    post_code: str | None = "FRLEH4",
    messages: tuple[tuple[str, bool], ...] = (("F032", False),),
    items: int = 1,
) -> Declaration:
    """A declaration as the GUN services leave it, built row by row for the pages."""
    declaration = Declaration.objects.create(
        company=company,
        client_reference=f"REF-{next(_serial)}",
        importer_eori=company.eori,
        special_mentions=["73000"] if control != "none" else [],
        status=status,
        mrn=None if status == "anticipated" else mrn(),
        control_required=control != "none",
        control_status=control,
        post=BorderControlPost.objects.get(code=post_code) if post_code else None,
        validated_at=None if status == "anticipated" else timezone.now(),
        released_at=timezone.now() if status == "released" else None,
    )
    for number in range(1, items + 1):
        item = DeclarationItem.objects.create(
            declaration=declaration,
            item_number=number,
            commodity_code="1209918000",
            origin_country="MA",
            net_mass_kg=Decimal("100"),
        )
        ItemDocument.objects.create(
            item=item,
            position=0,
            code="2413",
            reference=f"2016-01-{number:07d}-00",
            has_imputation=True,
            imputation_line_number=1,
            imputation_quantity=Decimal("100"),
            imputation_unit="KGM",
        )
    run = GunRun.objects.create(
        declaration=declaration,
        stage="anticipation" if status == "anticipated" else "validation",
        outcome="informative"
        if status == "anticipated"
        else ("accepted_with_control" if control != "none" else "accepted"),
        control_required=control != "none",
        by="api-key:test",
    )
    for order, (code, passive) in enumerate(messages):
        GunMessage.objects.create(
            run=run,
            order=order,
            code=code,
            item=1,
            document_code="2413",
            reference="2016-01-0000001-00",
            document_index=0,
            passive=passive,
            forceable=code in {"T001", "F001", "F032"},
        )
    declaration.last_run = run
    declaration.save(update_fields=["last_run"])
    if control != "none":
        Control.objects.create(
            declaration=declaration,
            run=run,
            decision=control,
            decided_at=None if control == "open" else timezone.now(),
        )
    return declaration


def make_partner_document(eori: str, number: int = 1, quantity: str = "1000") -> PartnerDocument:
    document = PartnerDocument.objects.create(
        partner="SEMAE",
        code="2413",
        reference=f"2016-01-{number:07d}-00",
        holder_eori=eori,
    )
    PartnerDocumentLine.objects.create(
        document=document,
        line=1,
        commodity_code="12099180",
        origin_country="MA",
        quantity=Decimal(quantity),
        unit="KGM",
    )
    return document


def reserve(declaration: Declaration, document: PartnerDocument, quantity: str) -> None:
    line = document.lines.get()
    Reservation.objects.create(declaration=declaration, line=line, quantity=Decimal(quantity))
    PartnerDocumentLine.objects.filter(pk=line.pk).update(reserved=Decimal(quantity))
    LedgerEntry.objects.create(
        declaration=declaration,
        item_number=1,
        document=document,
        document_code=document.code,
        reference=document.reference,
        line=line,
        line_number=1,
        partner="SEMAE",
        quantity=Decimal(quantity),
        phase="reserve",
        idempotency_key=f"reserve:{declaration.pk}:{line.pk}",
        who="api-key:test",
    )


@pytest.fixture
def agent():
    user = AgentFactory().user
    TOTP.activate(user, TOTP_SECRET)
    return user


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


# --- access ------------------------------------------------------------------------------


def test_operator_cannot_open_the_agents_queue(operator_client):
    assert operator_client.get(reverse("gun:review-queue")).status_code == 403


def test_operator_cannot_open_the_agents_view_of_a_declaration(operator_client, company):
    declaration = make_declaration(company)
    response = operator_client.get(reverse("gun:review-detail", args=[declaration.pk]))
    assert response.status_code == 403


def test_agent_without_totp_is_redirected_to_enrolment():
    client = Client()
    client.force_login(AgentFactory().user)
    response = client.get(reverse("gun:review-queue"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    for name in ("gun:review-queue", "gun:declarations", "gun:partner-links"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_another_companys_declaration_is_not_found(operator_client, other_company):
    declaration = make_declaration(other_company)
    response = operator_client.get(reverse("gun:declaration", args=[declaration.pk]))
    assert response.status_code == 404


def test_unknown_declaration_is_not_found(operator_client, agent_client):
    missing = uuid.uuid4()
    assert operator_client.get(reverse("gun:declaration", args=[missing])).status_code == 404
    assert agent_client.get(reverse("gun:review-detail", args=[missing])).status_code == 404


def test_a_user_without_company_cannot_open_the_operator_pages(client, user):
    client.force_login(user)
    assert client.get(reverse("gun:declarations")).status_code == 403
    assert client.get(reverse("gun:partner-documents")).status_code == 403


def test_partner_links_page_is_open_to_operators_and_agents(operator_client, agent_client):
    assert operator_client.get(reverse("gun:partner-links")).status_code == 200
    assert agent_client.get(reverse("gun:partner-links")).status_code == 200


# --- the agents' queue -------------------------------------------------------------------


def test_queue_defaults_to_the_agents_post_and_open_controls(agent_client, company):
    here = make_declaration(company)
    elsewhere = make_declaration(company, post_code="FRDKK4")
    decided = make_declaration(company, control="justified")
    not_controlled = make_declaration(company, control="none", messages=())
    response = agent_client.get(reverse("gun:review-queue"))
    assert response.status_code == 200
    shown = {d.pk for d in response.context["page"]}
    assert shown == {here.pk}
    assert {elsewhere.pk, decided.pk, not_controlled.pk}.isdisjoint(shown)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", {"open"}),
        ("justified", {"justified"}),
        ("unjustified", {"unjustified"}),
        ("released", {"released"}),
        ("all", {"open", "justified", "unjustified", "released"}),
    ],
)
def test_queue_filters_by_status(agent_client, company, status, expected):
    made = {
        "open": make_declaration(company),
        "justified": make_declaration(company, control="justified"),
        "unjustified": make_declaration(company, control="unjustified"),
        "released": make_declaration(company, control="justified", status="released"),
    }
    response = agent_client.get(reverse("gun:review-queue"), {"status": status})
    shown = {d.pk for d in response.context["page"]}
    assert shown == {made[name].pk for name in expected}


def test_queue_is_the_agents_post_even_when_another_post_is_asked(agent_client, company):
    make_declaration(company, post_code="FRDKK4")
    le_havre = make_declaration(company)
    for query in ({"post": "FRDKK4"}, {"post": ""}):
        response = agent_client.get(reverse("gun:review-queue"), query)
        assert {d.pk for d in response.context["page"]} == {le_havre.pk}


def test_queue_marks_degraded_mode(agent_client, company):
    make_declaration(company, messages=(("T001", False),))
    response = agent_client.get(reverse("gun:review-queue"))
    assert b'data-testid="degraded"' in response.content


def test_queue_answers_bad_filters_with_400(agent_client):
    response = agent_client.get(reverse("gun:review-queue"), {"status": "lost"})
    assert response.status_code == 400
    assert b"fr-error-text" in response.content


def test_queue_is_paginated(agent_client, company):
    for _ in range(27):
        make_declaration(company)
    first = agent_client.get(reverse("gun:review-queue"))
    assert len(first.context["page"]) == 25
    second = agent_client.get(reverse("gun:review-queue"), {"page": 2})
    assert len(second.context["page"]) == 2


def test_queue_queries_do_not_grow_with_rows(agent_client, company, django_assert_max_num_queries):
    make_declaration(company)
    with django_assert_max_num_queries(20) as few:
        agent_client.get(reverse("gun:review-queue"))
    for _ in range(20):
        make_declaration(company, messages=(("T001", False), ("F032", False)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = agent_client.get(reverse("gun:review-queue"))
    assert len(response.context["page"]) == 21


# --- a declaration for agents ------------------------------------------------------------


def test_agent_detail_shows_runs_messages_passive_marks_and_ledger(agent_client, company):
    declaration = make_declaration(company, messages=(("F032", False), ("F046", True)))
    document = make_partner_document(company.eori)
    reserve(declaration, document, "100")
    response = agent_client.get(reverse("gun:review-detail", args=[declaration.pk]))
    assert response.status_code == 200
    body = text(response)
    assert "Produits déclarés non conformes au document" in body
    assert "Pays d'origine non conforme au document" in body
    assert body.count('data-testid="passive"') == 1
    assert 'data-testid="ledger"' in body
    assert 'data-testid="decision-form"' in body
    assert 'data-testid="release"' not in body  # an open control blocks release


def test_agent_detail_in_english_shows_english_labels(agent_client, company):
    declaration = make_declaration(company, messages=(("F032", False),))
    agent_client.cookies["django_language"] = "en"
    response = agent_client.get(
        reverse("gun:review-detail", args=[declaration.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Declared goods do not match the document" in response.content.decode()


def test_agent_detail_queries_do_not_grow_with_items(
    agent_client, company, django_assert_max_num_queries
):
    small = make_declaration(company, items=1)
    with django_assert_max_num_queries(40) as few:
        agent_client.get(reverse("gun:review-detail", args=[small.pk]))
    big = make_declaration(company, items=8, messages=(("F032", False),) * 3)
    for n in range(1, 9):
        reserve(big, make_partner_document(company.eori, number=n), "10")
    with django_assert_max_num_queries(len(few.captured_queries)):
        agent_client.get(reverse("gun:review-detail", args=[big.pk]))


# --- operators ---------------------------------------------------------------------------


def test_operator_sees_only_their_companys_declarations(operator_client, company, other_company):
    mine = make_declaration(company, control="none", messages=())
    make_declaration(other_company, control="none", messages=())
    response = operator_client.get(reverse("gun:declarations"))
    assert [d.pk for d in response.context["page"]] == [mine.pk]
    assert mine.mrn in response.content.decode()


def test_operator_filters_declarations_by_status_and_reference(operator_client, company):
    anticipated = make_declaration(company, status="anticipated", control="none", messages=())
    validated = make_declaration(company, control="none", messages=())
    response = operator_client.get(reverse("gun:declarations"), {"status": "anticipated"})
    assert [d.pk for d in response.context["page"]] == [anticipated.pk]
    response = operator_client.get(reverse("gun:declarations"), {"q": validated.mrn})
    assert [d.pk for d in response.context["page"]] == [validated.pk]


def test_operator_list_answers_bad_filters_with_400(operator_client):
    response = operator_client.get(reverse("gun:declarations"), {"status": "x", "q": "y" * 300})
    assert response.status_code == 400


def test_operator_list_queries_do_not_grow_with_rows(
    operator_client, company, django_assert_max_num_queries
):
    make_declaration(company)
    with django_assert_max_num_queries(20) as few:
        operator_client.get(reverse("gun:declarations"))
    for _ in range(15):
        make_declaration(company)
    with django_assert_max_num_queries(len(few.captured_queries)):
        operator_client.get(reverse("gun:declarations"))


def test_operator_detail_explains_every_message_and_what_to_do(operator_client, company):
    declaration = make_declaration(
        company, status="anticipated", control="none", messages=(("F033", False), ("F048", True))
    )
    response = operator_client.get(reverse("gun:declaration", args=[declaration.pk]))
    body = text(response)
    assert response.status_code == 200
    assert "Quantité trop importante sur la fiche d'imputation" in body
    assert "Réduisez la quantité ou joignez un autre document" in body  # catalogue advice
    assert 'data-testid="passive"' in body


def test_operator_detail_shows_balances_and_who_holds_them(operator_client, company, other_company):
    mine = make_declaration(company, control="none", messages=())
    theirs = make_declaration(other_company, control="none", messages=())
    document = make_partner_document(company.eori, quantity="1000")
    reserve(mine, document, "100")
    other_line = document.lines.get()
    Reservation.objects.create(declaration=theirs, line=other_line, quantity=Decimal("50"))
    PartnerDocumentLine.objects.filter(pk=other_line.pk).update(reserved=Decimal("150"))
    response = operator_client.get(reverse("gun:declaration", args=[mine.pk]))
    body = text(response)
    assert '<td data-testid="available"><strong>850,000</strong></td>' in body
    assert reverse("gun:declaration", args=[mine.pk]) in body
    assert "another declarant" in body or "autre déclarant" in body
    assert theirs.mrn not in body


def test_operator_detail_hides_balances_of_another_holders_document(operator_client, company):
    declaration = make_declaration(company, control="none", messages=())
    make_partner_document("FR55208131766522", quantity="777")
    response = operator_client.get(reverse("gun:declaration", args=[declaration.pk]))
    assert "777" not in response.content.decode()


def test_partner_documents_page_lists_the_companys_documents(operator_client, company):
    declaration = make_declaration(company, control="none", messages=())
    mine = make_partner_document(company.eori, number=1, quantity="500")
    theirs = make_partner_document("FR55208131766522", number=2, quantity="777")
    reserve(declaration, mine, "120")
    response = operator_client.get(reverse("gun:partner-documents"))
    body = text(response)
    assert mine.reference in body
    # Another holder's document, by its reference and quantity (the company's own EORI, drawn
    # at random, may contain "777").
    assert theirs.reference not in body and "777,000" not in body
    assert "380,000" in body  # available = 500 - 120


def test_partner_documents_queries_do_not_grow_with_rows(
    operator_client, company, django_assert_max_num_queries
):
    declaration = make_declaration(company, control="none", messages=())
    reserve(declaration, make_partner_document(company.eori, number=1), "1")
    with django_assert_max_num_queries(20) as few:
        operator_client.get(reverse("gun:partner-documents"))
    for n in range(2, 12):
        reserve(declaration, make_partner_document(company.eori, number=n), "1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        operator_client.get(reverse("gun:partner-documents"))


# --- partner links, dashboard, menu ------------------------------------------------------


def test_partner_links_show_state_since_and_waiting_entries(operator_client, company):
    PartnerLink.objects.create(partner="SEMAE", up=False, last_error="time-out")
    declaration = make_declaration(company, control="none", messages=())
    reserve(declaration, make_partner_document(company.eori), "10")
    response = operator_client.get(reverse("gun:partner-links"))
    links = {link.partner: link for link in response.context["links"]}
    assert links["SEMAE"].up is False
    assert links["SEMAE"].waiting == 1
    assert links["TRACES"].up is True
    assert links["TRACES"].waiting == 0


def test_dashboards_show_the_gun_panels(operator_client, agent_client, company):
    declaration = make_declaration(company)
    operator_page = operator_client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="panel-gun-declarations"' in operator_page
    assert declaration.client_reference in operator_page
    assert reverse("gun:declarations") in operator_page
    agent_page = agent_client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="panel-gun-controls"' in agent_page
    assert reverse("gun:review-queue") in agent_page
    assert response_count(agent_page) == 1


def response_count(page: str) -> int:
    """The number of open controls the agent's panel announces."""
    import re

    match = re.search(r"(\d+) (?:open GUN control|contrôles? GUN ouverts?)", page)
    return int(match.group(1)) if match else -1


def test_menu_entries_by_role(operator_client, agent_client):
    operator_page = operator_client.get(reverse("gun:partner-links")).content.decode()
    assert reverse("gun:declarations") in operator_page
    assert reverse("gun:partner-documents") in operator_page
    assert reverse("gun:review-queue") not in operator_page
    agent_page = agent_client.get(reverse("gun:partner-links")).content.decode()
    assert reverse("gun:review-queue") in agent_page
    assert reverse("gun:declarations") not in agent_page


# --- admin: passive rollout --------------------------------------------------------------


@pytest.fixture
def admin_client_(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_admin_sets_a_check_of_a_profile_passive(admin_client_):
    response = admin_client_.post(
        reverse("admin:gun_checkmode_add"),
        {"profile_code": "2413", "check_code": "F048", "mode": "passive"},
    )
    assert response.status_code == 302
    mode = CheckMode.objects.get()
    assert (mode.profile_code, mode.check_code, mode.mode) == ("2413", "F048", "passive")


def test_admin_refuses_a_check_the_profile_does_not_have(admin_client_):
    response = admin_client_.post(
        reverse("admin:gun_checkmode_add"),
        {"profile_code": "C640", "check_code": "F048", "mode": "passive"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["check_code"]
    assert not CheckMode.objects.exists()


def test_admin_read_views_open(admin_client_, company):
    declaration = make_declaration(company)
    document = make_partner_document(company.eori)
    reserve(declaration, document, "5")
    for name in ("declaration", "partnerdocument", "ledgerentry", "gunrun", "control"):
        assert admin_client_.get(reverse(f"admin:gun_{name}_changelist")).status_code == 200
    assert (
        admin_client_.get(reverse("admin:gun_partnerdocument_change", args=[document.pk]))
    ).status_code == 200
    assert (
        admin_client_.get(reverse("admin:gun_declaration_change", args=[declaration.pk]))
    ).status_code == 200


def test_admin_keeps_the_ledger_checks_live(admin_client_):
    response = admin_client_.post(
        reverse("admin:gun_checkmode_add"),
        {"profile_code": "2413", "check_code": "F033", "mode": "passive"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["check_code"]
    assert not CheckMode.objects.exists()
