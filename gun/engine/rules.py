"""The GUN's rules (GUN_RULES §3, §4): one record per message code, and its check beside it.

Each ``Rule`` says what the code means (the seed's French label, an English one, advice), how
the engine decides it (``kind`` and ``check``), whether it needs the partner's document,
whether it stops the document's other checks, whether special mention 73000 may force it, and
whether an administrator may set it passive. The runner (``gun.engine.runner``), the admin and
the services (check modes, outcome) read these records; nothing else lists codes.

Kinds, in the order the runner applies them to one box-44 document (``runner`` for the flow):

- ``reference`` (F001): the reference is malformed, or unknown to the partner (stops the rest);
- ``link`` (T001): the partner could not be reached (the partner's checks are skipped);
- ``sheet_presence`` (F041) then ``sheet`` (F031 F030 F045 F042 F034): the imputation sheet,
  from the declaration alone;
- ``document`` (F022 F032 F046 F047): the declaration against the partner's document;
- ``quantity`` (F033): the declaration's running total per document against what is available
  to it; the ledger enforces the same bound under lock and the database's CHECK
  ``gun_line_reserved_plus_imputed_lte_initial`` (``gun.models.PartnerDocumentLine``) last;
- ``item`` (F048): once per item, over its sheets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from gun.engine.profiles import DocumentProfile
from gun.engine.types import Declaration, Imputation, Item, PartnerDocument

RuleKind = Literal["reference", "link", "sheet_presence", "sheet", "document", "quantity", "item"]

VALID_STATUS = "VAL"
MASS_UNIT = "KGM"
NET_MASS_TOLERANCE_KG = Decimal(1)


@dataclass(frozen=True)
class DocumentContext:
    """Everything a ``document`` check compares: the declaration, the item, the partner's view."""

    declaration: Declaration
    item: Item
    partner_document: PartnerDocument


SheetCheck = Callable[[DocumentProfile, Imputation], bool]
DocumentCheck = Callable[[DocumentContext], bool]


@dataclass(frozen=True)
class Rule:
    """One GUN message code and everything the portal knows about it."""

    code: str
    label_fr: str
    label_en: str
    advice_fr: str
    advice_en: str
    kind: RuleKind
    needs_partner: bool  # decided from the partner's document (skipped under T001)
    forceable: bool  # GUN_RULES §4: 73000 forces validation through it
    may_be_passive: bool = True  # False: the ledger's invariant relies on it (GUN_RULES §5)
    stops_document: bool = False  # no other check runs on that document
    sheet_field: str | None = None  # the sheet field whose emptiness it reports
    # The declaration field the message concerns, "<level>.<field>" (level: header, item,
    # document, or sheet for the document's imputation sheet): where a page shows it.
    concerns: str = "document.reference"
    sheet_check: SheetCheck | None = None
    document_check: DocumentCheck | None = None


def is_empty(value: object) -> bool:
    """A sheet field is empty when absent, or a string with nothing but blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


# --- T001, F001: reaching the document ------------------------------------------------------

T001 = Rule(
    code="T001",
    concerns="document.reference",
    label_fr="Erreur technique",
    label_en="Technical error",
    advice_fr=(
        "Le système partenaire n'a pas pu être consulté. Réessayez plus tard, ou complétez "
        "correctement la déclaration et la fiche d'imputation puis ajoutez la mention spéciale "
        "73000 pour valider : la déclaration sera contrôlée par le bureau de douane."
    ),
    advice_en=(
        "The partner system could not be reached. Try again later, or complete the declaration "
        "and the imputation sheet correctly and add special mention 73000 to validate: the "
        "customs office will then control the declaration."
    ),
    kind="link",
    needs_partner=True,
    forceable=True,  # GUN_RULES §4: technical error
)


def reference_malformed(profile: DocumentProfile, reference: str) -> bool:
    """F001 (first half): the reference does not match the profile's pattern. The second half,
    unknown to its partner (or out of the declarant's scope, docs/gun.md "Mandates"), is the
    lookup's answer."""
    return not profile.reference_is_well_formed(reference)


F001 = Rule(
    code="F001",
    concerns="document.reference",
    label_fr="Référence du document non reconnue",
    label_en="Document reference not recognised",
    advice_fr=(
        "Recopiez la référence exactement, au caractère près, telle qu'elle figure sur le "
        "document, et vérifiez le code document. S'il s'agit d'un document papier non "
        "dématérialisé, la mention spéciale 73000 permet de valider sous contrôle douanier."
    ),
    advice_en=(
        "Copy the reference exactly, character for character, as printed on the document, and "
        "check the document code. For a paper document that was never dematerialised, special "
        "mention 73000 allows validation under customs control."
    ),
    kind="reference",
    needs_partner=True,
    forceable=True,  # GUN_RULES §4: paper DI not dematerialised
    stops_document=True,
)


# --- F041 and the sheet's fields ------------------------------------------------------------


def sheet_missing(profile: DocumentProfile, imputation: Imputation | None) -> bool:
    """F041: the profile requires an imputation sheet and there is none."""
    return profile.sheet_required and imputation is None


F041 = Rule(
    code="F041",
    concerns="document.has_sheet",
    label_fr="Fiche d'imputation absente",
    label_en="Imputation sheet missing",
    advice_fr=(
        "Ajoutez une fiche d'imputation à ce document : elle est obligatoire pour ce code "
        "document (pour une DI : numéro de ligne, nombre et unité)."
    ),
    advice_en=(
        "Add an imputation sheet to this document: this document code requires one (for a DI: "
        "line number, quantity and unit)."
    ),
    kind="sheet_presence",
    needs_partner=False,
    forceable=False,
)


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


F031 = Rule(
    code="F031",
    concerns="sheet.line",
    label_fr="N° de ligne non renseigné",
    label_en="Line number missing",
    advice_fr="Renseignez le numéro de ligne dans la fiche d'imputation (1 pour une DI).",
    advice_en="Fill in the line number on the imputation sheet (1 for a DI).",
    kind="sheet",
    needs_partner=False,
    forceable=False,
    sheet_field="line_number",
    sheet_check=line_number_missing,
)
F030 = Rule(
    code="F030",
    concerns="sheet.line",
    label_fr="N° de ligne non conforme",
    label_en="Line number not compliant",
    advice_fr="Pour une DI, indiquez 1 comme numéro de ligne dans la fiche d'imputation.",
    advice_en="For a DI, enter 1 as the line number on the imputation sheet.",
    kind="sheet",
    needs_partner=False,
    forceable=False,
    sheet_check=line_number_wrong,
)
F045 = Rule(
    code="F045",
    concerns="sheet.quantity",
    label_fr="Quantité non renseignée",
    label_en="Quantity missing",
    advice_fr=(
        "Renseignez la rubrique « Nombre » de la fiche d'imputation : la quantité nette importée,"
        " dans l'unité du document."
    ),
    advice_en=(
        "Fill in the quantity on the imputation sheet: the net quantity imported, in the "
        "document's unit."
    ),
    kind="sheet",
    needs_partner=False,
    forceable=False,
    sheet_field="quantity",
    sheet_check=quantity_missing,
)
F042 = Rule(
    code="F042",
    concerns="sheet.unit",
    label_fr="Unité de mesure non renseignée",
    label_en="Unit of measure missing",
    advice_fr="Renseignez l'unité d'imputation dans la fiche d'imputation (KGM pour une DI).",
    advice_en="Fill in the imputation unit on the imputation sheet (KGM for a DI).",
    kind="sheet",
    needs_partner=False,
    forceable=False,
    sheet_field="unit",
    sheet_check=unit_missing,
)
F034 = Rule(
    code="F034",
    concerns="sheet.unit",
    label_fr="Unité de mesure non-conforme",
    label_en="Unit of measure not compliant",
    advice_fr=(
        "Indiquez exactement l'unité du document dans « Unité d'imputation » (KGM pour une DI, en"
        " majuscules)."
    ),
    advice_en=(
        "Enter exactly the document's unit as the imputation unit (KGM for a DI, in capitals)."
    ),
    kind="sheet",
    needs_partner=False,
    forceable=False,
    sheet_check=unit_wrong,
)


# --- the declaration against the partner's document -----------------------------------------


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


F022 = Rule(
    code="F022",
    concerns="document.reference",
    label_fr="Document non valide",
    label_en="Document not valid",
    advice_fr=(
        "Ce document n'est plus utilisable (épuisé, annulé ou déjà utilisé par une autre "
        "déclaration). Joignez un document valide ou contactez l'organisme qui l'a délivré."
    ),
    advice_en=(
        "This document can no longer be used (exhausted, cancelled or already used by another "
        "declaration). Attach a valid document or contact its issuing body."
    ),
    kind="document",
    needs_partner=True,
    forceable=False,
    may_be_passive=False,  # a taken or exhausted document must never be reserved
    document_check=document_not_valid,
)
F032 = Rule(
    code="F032",
    concerns="item.commodity_code",
    label_fr="Produits déclarés non conformes au document",
    label_en="Declared goods do not match the document",
    advice_fr=(
        "Vérifiez le code marchandise de l'article : il doit commencer par le numéro de tarif du "
        "document. Si l'écart vient d'une évolution de la nomenclature, la mention spéciale 73000"
        " permet de valider sous contrôle douanier."
    ),
    advice_en=(
        "Check the item's commodity code: it must begin with the document's tariff number. If the"
        " difference comes from a nomenclature change, special mention 73000 allows validation "
        "under customs control."
    ),
    kind="document",
    needs_partner=True,
    forceable=True,  # GUN_RULES §4: nomenclature change without effect on validity
    document_check=commodity_mismatch,
)
F046 = Rule(
    code="F046",
    concerns="item.origin_country",
    label_fr="Pays d'origine non conforme au document",
    label_en="Country of origin does not match the document",
    advice_fr=(
        "Le pays d'origine de l'article doit être le pays de production indiqué sur le document. "
        "Corrigez l'article ou joignez le bon document."
    ),
    advice_en=(
        "The item's country of origin must be the country of production shown on the document. "
        "Correct the item or attach the right document."
    ),
    kind="document",
    needs_partner=True,
    forceable=False,
    document_check=origin_mismatch,
)
F047 = Rule(
    code="F047",
    concerns="header.importer_eori",
    label_fr="Importateur non conforme au document",
    label_en="Importer does not match the document",
    advice_fr=(
        "L'EORI de l'importateur doit être celui du titulaire du document. Corrigez l'importateur"
        " ou joignez un document délivré à cet importateur."
    ),
    advice_en=(
        "The importer's EORI must be the document holder's. Correct the importer or attach a "
        "document issued to this importer."
    ),
    kind="document",
    needs_partner=True,
    forceable=False,
    document_check=importer_mismatch,
)


# --- F033: quantities -----------------------------------------------------------------------


def document_available(document: PartnerDocument) -> Decimal:
    """What this declaration may still impute on the document, over all its lines: initial -
    imputed - reserved by other declarations (GUN_RULES §5, computed by the lookup)."""
    return sum((line.available for line in document.lines), Decimal(0))


def quantity_exceeds(running_total: Decimal, available: Decimal) -> bool:
    """F033: the declaration's running total on a document exceeds its available quantity.
    The runner adds the sheets in item order and flags the sheet at which the total first
    exceeds, and every later sheet of that document."""
    return running_total > available


F033 = Rule(
    code="F033",
    concerns="sheet.quantity",
    label_fr="Quantité trop importante sur la fiche d'imputation",
    label_en="Quantity on the imputation sheet too large",
    advice_fr=(
        "La quantité imputée dépasse le solde disponible du document (en additionnant toutes les "
        "fiches de la déclaration qui l'utilisent). Réduisez la quantité ou joignez un autre "
        "document pour le reste."
    ),
    advice_en=(
        "The quantity exceeds the document's available balance (adding up every sheet of the "
        "declaration that uses it). Lower the quantity or attach another document for the rest."
    ),
    kind="quantity",
    needs_partner=True,
    forceable=False,
    may_be_passive=False,  # the ledger's invariant: never reserve more than is available
)


# --- F048: net mass -------------------------------------------------------------------------


def net_mass_quantity(sheet: Imputation | None) -> Decimal | None:
    """The quantity F048 counts: only from a sheet with a quantity and the unit exactly KGM."""
    if sheet is None or sheet.unit != MASS_UNIT:
        return None
    return sheet.quantity


def net_mass_inconsistent(net_mass_kg: Decimal, quantities: Iterable[Decimal]) -> bool:
    """F048: |net mass - sum of KGM quantities| > 1 kg (exactly 1 kg passes)."""
    total = sum(quantities, Decimal(0))
    return abs(net_mass_kg - total) > NET_MASS_TOLERANCE_KG


F048 = Rule(
    code="F048",
    concerns="item.net_mass_kg",
    label_fr=(
        "Incohérence entre la masse nette de l'article (case 38) et la/les quantité(s) "
        "déclarée(s) sur la/les fiche(s) d'imputation"
    ),
    label_en=(
        "Inconsistency between the item's net mass (box 38) and the quantity(ies) declared on the"
        " imputation sheet(s)"
    ),
    advice_fr=(
        "La masse nette de l'article doit égaler, à 1 kg près, la somme des quantités en KGM des "
        "fiches d'imputation des DI de cet article. Corrigez l'une ou l'autre."
    ),
    advice_en=(
        "The item's net mass must equal, within 1 kg, the sum of the KGM quantities on the DI "
        "imputation sheets of that item. Correct one or the other."
    ),
    kind="item",
    needs_partner=False,
    forceable=False,
)


# --- the registry ---------------------------------------------------------------------------

_RULES = (T001, F001, F041, F031, F030, F045, F042, F034, F022, F032, F046, F047, F033, F048)

RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULES})
"""Every GUN message code, by code."""

SHEET_RULES: tuple[Rule, ...] = tuple(r for r in _RULES if r.kind == "sheet")
DOCUMENT_RULES: tuple[Rule, ...] = tuple(r for r in _RULES if r.kind == "document")

SHEET_FIELD_MESSAGES: Mapping[str, str] = MappingProxyType(
    {r.sheet_field: r.code for r in _RULES if r.sheet_field}
)
"""Imputation-sheet field -> the code raised when a required one is empty."""

NEVER_PASSIVE: frozenset[str] = frozenset(r.code for r in _RULES if not r.may_be_passive)


def rule_for(code: str) -> Rule:
    """The record of ``code``; KeyError for a code the rule book does not hold."""
    return RULES[code]
