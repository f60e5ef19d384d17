"""Builders for GUN tests: partner documents through the service, declaration payloads."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from gun.models import PartnerDocument
from gun.services import partner_document_publish

SEED = "1209918000"  # TARIC code under the DI's tariff number 12099180
_serial = itertools.count(1)


def di_reference() -> str:
    return f"2016-01-{next(_serial):07d}-00"


def ched_reference(kind: str = "P") -> str:
    return f"CHED{kind}.FR.2024.{next(_serial):07d}"


def publish_di(
    *, holder: str, quantity: str = "123.000", reference: str | None = None, status: str = "VAL"
) -> PartnerDocument:
    document, _ = partner_document_publish(
        partner="SEMAE",
        data={
            "code": "2413",
            "reference": reference or di_reference(),
            "status": status,
            "holder_eori": holder,
            "issued_on": None,
            "lines": [
                {
                    "line": 1,
                    "commodity_code": "12099180",
                    "origin_country": "MA",
                    "quantity": Decimal(quantity),
                    "unit": "KGM",
                }
            ],
        },
    )
    return document


def publish_ched(
    *, holder: str, code: str = "N853", reference: str | None = None
) -> PartnerDocument:
    kind = {"C640": "A", "N853": "P", "C678": "D", "C085": "PP"}[code]
    document, _ = partner_document_publish(
        partner="TRACES",
        data={
            "code": code,
            "reference": reference or ched_reference(kind),
            "status": "VAL",
            "holder_eori": holder,
            "issued_on": None,
            "lines": [
                {
                    "line": 1,
                    "commodity_code": "1209",
                    "origin_country": "MA",
                    "quantity": Decimal("1000"),
                    "unit": "KGM",
                }
            ],
        },
    )
    return document


def di_doc(reference: str, quantity: str | None = "123", **sheet: Any) -> dict:
    imputation = {"line": 1, "quantity": quantity, "unit": "KGM", **sheet}
    return {"code": "2413", "reference": reference, "date": "2016-01-12", "imputation": imputation}


def item(
    number: int = 1, *documents: dict, net_mass: str = "123.000", commodity: str = SEED
) -> dict:
    return {
        "item_number": number,
        "commodity_code": commodity,
        "origin_country": "MA",
        "net_mass_kg": net_mass,
        "documents": list(documents),
    }


def payload(
    importer: str, *items: dict, mentions: list[str] | None = None, ref: str = "ACME-1"
) -> dict:
    body: dict[str, Any] = {
        "client_reference": ref,
        "importer_eori": importer,
        "items": list(items),
    }
    if mentions is not None:
        body["special_mentions"] = mentions
    return body


def service_data(body: dict) -> dict:
    """The validated form of an API payload, for calling services directly."""
    from gun.api.serializers import DeclarationInput

    serializer = DeclarationInput(data=body)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
