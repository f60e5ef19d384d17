"""EORI and VAT validation (DESIGN.md, reference data)."""

import pytest
from django.core.exceptions import ValidationError

from sesame.identifiers import compact, validate_french_eori, validate_vat_number


@pytest.mark.parametrize(
    "eori",
    [
        "FR732829320",  # FR + SIREN, the current form
        "FR73282932000074",  # FR + SIRET, the older form
        "FR552100554",
    ],
)
def test_valid_french_eori_passes(eori: str) -> None:
    validate_french_eori(eori)


@pytest.mark.parametrize(
    ("eori", "code"),
    [
        ("FR732829321", "eori_checksum"),  # SIREN with a wrong check digit
        ("FR73282932000075", "eori_checksum"),  # SIRET with a wrong check digit
        ("DE732829320", "eori_prefix"),
        ("fr732829320", "eori_prefix"),
        ("732829320", "eori_prefix"),
        ("FR7328293", "eori_format"),  # too short
        ("FR7328293200007", "eori_format"),  # 13 digits: neither SIREN nor SIRET
        ("FR73282932A", "eori_format"),
        ("FR", "eori_format"),
        ("", "eori_prefix"),
    ],
)
def test_bad_french_eori_is_refused_with_a_precise_code(eori: str, code: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_french_eori(eori)
    assert excinfo.value.code == code


def test_compact_removes_spaces_and_dots_and_upper_cases() -> None:
    assert compact(" fr 732.829.320 ") == "FR732829320"


@pytest.mark.parametrize("vat", ["FR40303265045", "DE136695976"])
def test_valid_vat_numbers_pass(vat: str) -> None:
    validate_vat_number(vat)


@pytest.mark.parametrize("vat", ["FR40303265046", "XX123", "FR"])
def test_bad_vat_numbers_are_refused(vat: str) -> None:
    with pytest.raises(ValidationError):
        validate_vat_number(vat)
