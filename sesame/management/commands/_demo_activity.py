"""Some work in progress for the demo companies, made through the same services as the API:
partner documents, consignments with their timeline, declarations (one in the agents' queue)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from sesame.models import BorderControlPost, Company, User


def _declaration_data(body: dict[str, Any]) -> dict[str, Any]:
    from gun.api.serializers import DeclarationInput

    serializer = DeclarationInput(data=body)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def load(*, company: Company, operator: User, tag: str) -> None:
    """Idempotent: nothing is added when the company already has its demo consignment."""
    from gun.services import declaration_register, declaration_validate, partner_document_publish
    from tracking.models import Consignment
    from tracking.services import consignment_create, event_record

    reference = f"{tag}-001"
    if Consignment.objects.filter(company=company, reference=reference).exists():
        return
    now = timezone.now()
    serial = int(company.eori[2:]) % 10_000
    di_reference = f"2026-11-{serial:07d}-00"
    ched_reference = f"CHEDPP.MA.2026.{serial:07d}"
    partner_document_publish(
        partner="SEMAE",
        data={
            "code": "2413",
            "reference": di_reference,
            "status": "VAL",
            "holder_eori": company.eori,
            "issued_on": now.date(),
            "lines": [
                {
                    "line": 1,
                    "commodity_code": "12099180",
                    "origin_country": "MA",
                    "quantity": Decimal("500.000"),
                    "unit": "KGM",
                }
            ],
        },
    )
    post = BorderControlPost.objects.get(code="FRLEH4")
    consignment = consignment_create(
        company=company,
        reference=reference,
        container_numbers=["CSQU3054383"],
        transport_document_type="bl",
        transport_document_number=f"MEDU{serial:06d}",
        port="FRLEH",
        post=post,
        expected_arrival=now + timedelta(hours=30),
        categories=["plants"],
        ched_references=[ched_reference],
        declarations=[{"client_reference": f"{tag}-DEC-1"}],
    )
    event_record(
        consignment=consignment,
        kind="prenotification",
        occurred_at=now - timedelta(days=2),
        source="TRACES",
        source_event_id=f"demo-{tag}-pre",
        payload={"ched_reference": ched_reference},
    )
    event_record(
        consignment=consignment,
        kind="arrival",
        occurred_at=now - timedelta(hours=3),
        source="PORT",
        source_event_id=f"demo-{tag}-arr",
        payload={},
    )
    consignment_create(
        company=company,
        reference=f"{tag}-002",
        container_numbers=["MSKU9070323"],
        transport_document_type="bl",
        transport_document_number=f"CMAU{serial:06d}",
        port="FRMRS",
        post=BorderControlPost.objects.get(code="FRMRS4"),
        expected_arrival=now + timedelta(days=4),
        categories=["fl_marketing"],
    )

    def item(commodity: str, quantity: str) -> dict[str, Any]:
        return {
            "item_number": 1,
            "commodity_code": commodity,
            "origin_country": "MA",
            "net_mass_kg": quantity,
            "documents": [
                {
                    "code": "2413",
                    "reference": di_reference,
                    "date": str(now.date()),
                    "imputation": {"line": 1, "quantity": quantity, "unit": "KGM"},
                }
            ],
        }

    accepted = declaration_register(
        company=company,
        by=operator,
        data=_declaration_data(
            {
                "client_reference": f"{tag}-DEC-1",
                "importer_eori": company.eori,
                "post": "FRLEH4",
                "items": [item("1209918000", "120.000")],
            }
        ),
    )
    declaration_validate(declaration=accepted.declaration, by=operator)
    # Tariff number changed since the DI was issued (F032): forced with 73000, for the agents.
    forced = declaration_register(
        company=company,
        by=operator,
        data=_declaration_data(
            {
                "client_reference": f"{tag}-DEC-2",
                "importer_eori": company.eori,
                "post": "FRLEH4",
                "special_mentions": ["73000"],
                "items": [item("1209290000", "80.000")],
            }
        ),
    )
    declaration_validate(declaration=forced.declaration, by=operator)
