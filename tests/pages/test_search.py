"""The searches of the list pages can use their trigram indexes: EXPLAIN of the very queries the
pages run names each index (created by migrations on the expressions the selectors build).

At a few thousand rows a sequential scan still costs less, so the plans are read with
sequential scans disabled: what this proves is that each index matches its query expression
(the part a change could break). At 30,000 declarations the planner picks the index by itself
(checked by hand; building that many rows here would take a minute of the suite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from gun import selectors
from gun.models import Declaration, PartnerDocument
from sesame.models import BorderControlPost
from sesame.search import search_filter
from tests.factories import CompanyFactory
from tracking.models import Consignment, DeclarationLink
from tracking.selectors import consignments_for_company, consignments_search

pytestmark = pytest.mark.django_db
ROWS = 1000


def analyze(*models) -> None:
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def plan(queryset) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


@pytest.fixture
def many_consignments():
    company = CompanyFactory()
    post = BorderControlPost.objects.get(code="FRLEH4")
    now = timezone.now()
    made = Consignment.objects.bulk_create(
        Consignment(
            company=company,
            reference=f"LOT-{n:06d}",
            container_numbers=[f"MSKU{n:07d}"],
            transport_document_type="bl",
            transport_document_number=f"MEDU{n:06d}",
            port="FRLEH",
            post=post,
            expected_arrival=now + timedelta(minutes=n),
            ched_references=[f"CHEDPP.MA.2026.{n:07d}"],
        )
        for n in range(ROWS)
    )
    DeclarationLink.objects.bulk_create(
        DeclarationLink(consignment=c, mrn=f"26FR{n:012d}RX"[:18], client_reference=f"CR-{n}")
        for n, c in enumerate(made)
    )
    analyze(Consignment, DeclarationLink)
    return company


def test_consignment_search_uses_both_trigram_indexes(many_consignments):
    queryset = consignments_search(consignments_for_company(company=many_consignments), "0123")
    found = plan(queryset)
    assert "tracking_consignment_search_trgm" in found
    assert "tracking_declarationlink_search_trgm" in found
    assert queryset.count() > 0


def test_declaration_and_document_searches_use_their_trigram_indexes():
    company = CompanyFactory()
    Declaration.objects.bulk_create(
        Declaration(
            company=company,
            client_reference=f"DEC-{n:06d}",
            importer_eori=company.eori,
            status="validated",
            mrn=f"26FR{n:012d}RX"[:18],
            control_required=True,
            control_status="open",
            validated_at=timezone.now(),
        )
        for n in range(ROWS)
    )
    PartnerDocument.objects.bulk_create(
        PartnerDocument(
            partner="SEMAE", code="2413", reference=f"2016-01-{n:07d}-00", holder_eori=company.eori
        )
        for n in range(ROWS)
    )
    analyze(Declaration, PartnerDocument)
    # The page queries may start from another index at this size (company, control status);
    # each search expression alone goes through its trigram index.
    assert selectors.declarations_for_company(company=company, search="dec-00012").count() == 10
    assert selectors.review_queue(post_id=None, status="open", search="00000123").count() == 1
    assert selectors.partner_documents_of_holder(eori=company.eori, search="0000123").count() == 1
    declarations = search_filter(
        Declaration.objects.all(), selectors.DECLARATION_SEARCH_TEXT, "dec-0"
    )
    assert "gun_declaration_search_trgm" in plan(declarations)
    documents = search_filter(
        PartnerDocument.objects.order_by(), selectors.DOCUMENT_SEARCH_TEXT, "0000123"
    )
    assert "gun_partnerdocument_search_trgm" in plan(documents)
