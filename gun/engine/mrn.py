"""Movement Reference Number (MRN): check character, validation and generation.

18 characters: year (2 digits), country (2 letters), 12 alphanumerics, procedure character,
check character. Check: digits count as themselves, letters A=10, B=12, ... skipping multiples
of 11 (L=23, V=34, Z=38); position i (0-based) weighs 2**i; check = (sum mod 11) mod 10.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from types import MappingProxyType

MRN_LENGTH = 18


def _letter_values() -> dict[str, int]:
    values: dict[str, int] = {}
    value = 10
    for letter in string.ascii_uppercase:
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


CHARACTER_VALUES: Mapping[str, int] = MappingProxyType(
    {**{digit: int(digit) for digit in string.digits}, **_letter_values()}
)

# The procedure character is a letter in MRNs issued since the UCC ("R" for an import
# declaration), but older valid MRNs carry a digit there: validation accepts any alphanumeric.
_MRN_PATTERN = re.compile(r"\d{2}[A-Z]{2}[A-Z0-9]{13}\d", re.ASCII)
_FIRST17_PATTERN = re.compile(r"[A-Z0-9]{17}", re.ASCII)
_SERIAL_PATTERN = re.compile(r"[A-Z0-9]{12}", re.ASCII)
_COUNTRY_PATTERN = re.compile(r"[A-Z]{2}", re.ASCII)
_PROCEDURE_PATTERN = re.compile(r"[A-Z]", re.ASCII)


def mrn_check_character(first17: str) -> str:
    """The check character of an MRN from its first 17 characters (upper-case alphanumerics)."""
    if not _FIRST17_PATTERN.fullmatch(first17):
        raise ValueError(f"an MRN starts with 17 upper-case alphanumerics, not {first17!r}")
    total = sum(CHARACTER_VALUES[char] << position for position, char in enumerate(first17))
    return str(total % 11 % 10)


def is_valid_mrn(mrn: object) -> bool:
    """True for an 18-character MRN of the right shape whose check character is right."""
    if not isinstance(mrn, str) or not _MRN_PATTERN.fullmatch(mrn):
        return False
    return mrn_check_character(mrn[:17]) == mrn[17]


def make_mrn(*, year: int, country: str = "FR", serial: str, procedure: str = "R") -> str:
    """Build a valid MRN; ``year`` may have four digits (only the last two are kept)."""
    if year < 0:
        raise ValueError(f"year must not be negative, not {year}")
    if not _COUNTRY_PATTERN.fullmatch(country):
        raise ValueError(f"country must be two upper-case letters, not {country!r}")
    if not _SERIAL_PATTERN.fullmatch(serial):
        raise ValueError(f"serial must be 12 upper-case alphanumerics, not {serial!r}")
    if not _PROCEDURE_PATTERN.fullmatch(procedure):
        raise ValueError(f"procedure must be one upper-case letter, not {procedure!r}")
    first17 = f"{year % 100:02d}{country}{serial}{procedure}"
    return first17 + mrn_check_character(first17)
