"""One small predicate per GUN check (GUN_RULES §3). Each returns True when the check fails.

The runner decides *whether* a check applies (profile, F001, partner reachable, sheet present);
these functions only decide *if it fails*. Sheet and partner checks are declared in ordered
tables so a profile enables a check by listing its code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from gun.engine.profiles import DocumentProfile
from gun.engine.types import Declaration, Imputation, Item, PartnerDocument

VALID_STATUS = "VAL"
MASS_UNIT = "KGM"
NET_MASS_TOLERANCE_KG = Decimal(1)


def is_empty(value: object) -> bool:
    """A sheet field is empty when absent, or a string with nothing but blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


# --- F001: reference ------------------------------------------------------------------------


def reference_malformed(profile: DocumentProfile, reference: str) -> bool:
    """F001 (first half): the reference does not match the profile's pattern."""
    return not profile.reference_is_well_formed(reference)


# --- F041: sheet presence -------------------------------------------------------------------


def sheet_missing(profile: DocumentProfile, imputation: Imputation | None) -> bool:
    """F041: the profile requires an imputation sheet and there is none."""
    return profile.sheet_required and imputation is None


# --- sheet field checks (sheet present) -----------------------------------------------------


def line_number_missing(profile: DocumentProfile, sheet: Imputation) -> bool:
    """F031: line number empty."""
    return "line_number" in profile.required_sheet_fields and is_empty(sheet.line_number)


def line_number_wrong(profile: DocumentProfile, sheet: Imputation) -> bool:
    """F030: line number given but not the one the profile requires (1 for a DI)."""
    return (
        profile.line_number is not None
        and not is_empty(sheet.line_number)
        and sheet.line_number != profile.line_number
    )


def quantity_missing(profile: DocumentProfile, sheet: Imputation) -> bool:
    """F045: quantity empty."""
    return "quantity" in profile.required_sheet_fields and is_empty(sheet.quantity)


def unit_missing(profile: DocumentProfile, sheet: Imputation) -> bool:
    """F042: unit empty."""
    return "unit" in profile.required_sheet_fields and is_empty(sheet.unit)


def unit_wrong(profile: DocumentProfile, sheet: Imputation) -> bool:
    """F034: unit given but not exactly the document's unit (no case folding, no trimming)."""
    return profile.unit is not None and not is_empty(sheet.unit) and sheet.unit != profile.unit


SheetCheck = Callable[[DocumentProfile, Imputation], bool]

SHEET_CHECKS: tuple[tuple[str, SheetCheck], ...] = (
    ("F031", line_number_missing),
    ("F030", line_number_wrong),
    ("F045", quantity_missing),
    ("F042", unit_missing),
    ("F034", unit_wrong),
)
"""Checks on a present imputation sheet; they need no partner data."""


# --- partner checks (document known to its partner) -----------------------------------------


@dataclass(frozen=True)
class DocumentContext:
    """Everything a partner check may compare: the declaration, the item, the partner's view."""

    declaration: Declaration
    item: Item
    partner_document: PartnerDocument


def document_not_valid(ctx: DocumentContext) -> bool:
    """F022: status is not VAL, or a single-use document is taken by another declaration."""
    document = ctx.partner_document
    return document.status != VALID_STATUS or document.used_by_other


def commodity_mismatch(ctx: DocumentContext) -> bool:
    """F032: the item's commodity code begins with no line's tariff number."""
    code = ctx.item.commodity_code
    return not any(
        line.commodity_code and code.startswith(line.commodity_code)
        for line in ctx.partner_document.lines
    )


def origin_mismatch(ctx: DocumentContext) -> bool:
    """F046: the item's origin is no line's country of production."""
    origin = ctx.item.origin_country
    return not any(line.origin_country == origin for line in ctx.partner_document.lines)


def importer_mismatch(ctx: DocumentContext) -> bool:
    """F047: the declaration's importer is not the document holder."""
    return ctx.declaration.importer_eori != ctx.partner_document.holder_eori


PartnerCheck = Callable[[DocumentContext], bool]

PARTNER_CHECKS: tuple[tuple[str, PartnerCheck], ...] = (
    ("F022", document_not_valid),
    ("F032", commodity_mismatch),
    ("F046", origin_mismatch),
    ("F047", importer_mismatch),
)
"""Checks comparing the declaration with the partner's document."""


# --- quantity checks ------------------------------------------------------------------------


def document_available(document: PartnerDocument) -> Decimal:
    """What this declaration may still impute on the document, over all its lines."""
    return sum((line.available for line in document.lines), Decimal(0))


def quantity_exceeds(running_total: Decimal, available: Decimal) -> bool:
    """F033: the declaration's running total on a document exceeds its available quantity."""
    return running_total > available


def net_mass_quantity(sheet: Imputation | None) -> Decimal | None:
    """The quantity F048 counts: only from a sheet with a quantity and the unit exactly KGM."""
    if sheet is None or sheet.unit != MASS_UNIT:
        return None
    return sheet.quantity


def net_mass_inconsistent(net_mass_kg: Decimal, quantities: Iterable[Decimal]) -> bool:
    """F048: |net mass - sum of KGM quantities| > 1 kg (exactly 1 kg passes)."""
    total = sum(quantities, Decimal(0))
    return abs(net_mass_kg - total) > NET_MASS_TOLERANCE_KG
