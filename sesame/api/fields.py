"""Identifier fields of the API, documented with their pattern and a named format (DESIGN.md,
reference data), so clients generate code that knows them and test generators (schemathesis,
tests/sesame/schemathesis_hooks.py) produce valid values, check digits included."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sesame.identifiers import validate_french_eori

EORI_PATTERN = r"^FR([0-9]{9}|[0-9]{14})$"
CONTAINER_PATTERN = r"^[A-Z]{3}[UJZR][0-9]{7}$"
CHED_PATTERN = r"^CHED(A|P|D|PP)\.[A-Z]{2}\.[0-9]{4}\.[0-9]{7}$"


def _django(validator: Any) -> Any:
    from django.core.exceptions import ValidationError as DjangoValidationError

    def run(value: Any) -> None:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None

    return run


@extend_schema_field(
    {
        "type": "string",
        "format": "eori",
        "pattern": EORI_PATTERN,
        "maxLength": 16,
        "example": "FR732829320",
        "description": "French EORI: FR + SIREN (9 digits) or SIRET (14 digits), check digit "
        "included (DELTA IE 13 04 017).",
    }
)
class EoriField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 17)
        super().__init__(validators=[_django(validate_french_eori)], **kwargs)


def schema_string(pattern: str, format_name: str, example: str, description: str) -> Any:
    """``extend_schema_field`` for a string field of one of the identifier formats."""
    return extend_schema_field(
        {
            "type": "string",
            "format": format_name,
            "pattern": pattern,
            "example": example,
            "description": description,
        }
    )


container_schema = schema_string(
    CONTAINER_PATTERN, "iso6346", "CSQU3054383", "ISO 6346 container number, check digit included."
)
ched_schema = schema_string(
    CHED_PATTERN, "ched", "CHEDP.FR.2026.0000001", "TRACES-NT CHED reference."
)
