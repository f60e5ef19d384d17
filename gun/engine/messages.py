"""The GUN message catalogue (GUN_RULES §3, §4) and the message the engine emits.

French labels are the seed's, to the letter; they are what declarants see in DELTA-G.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class MessageDef:
    """One entry of the catalogue: labels, whether 73000 may force it, and advice."""

    code: str
    label_fr: str
    label_en: str
    forceable: bool
    advice_fr: str
    advice_en: str


_DEFINITIONS: tuple[MessageDef, ...] = (
    MessageDef(
        code="T001",
        label_fr="Erreur technique",
        label_en="Technical error",
        forceable=True,  # GUN_RULES §4: technical error
        advice_fr=(
            "Le système partenaire n'a pas pu être consulté. Réessayez plus tard, ou complétez "
            "correctement la déclaration et la fiche d'imputation puis ajoutez la mention "
            "spéciale 73000 pour valider : la déclaration sera contrôlée par le bureau de douane."
        ),
        advice_en=(
            "The partner system could not be reached. Try again later, or complete the "
            "declaration and the imputation sheet correctly and add special mention 73000 to "
            "validate: the customs office will then control the declaration."
        ),
    ),
    MessageDef(
        code="F001",
        label_fr="Référence du document non reconnue",
        label_en="Document reference not recognised",
        forceable=True,  # GUN_RULES §4: paper DI not dematerialised
        advice_fr=(
            "Recopiez la référence exactement, au caractère près, telle qu'elle figure sur le "
            "document, et vérifiez le code document. S'il s'agit d'un document papier non "
            "dématérialisé, la mention spéciale 73000 permet de valider sous contrôle douanier."
        ),
        advice_en=(
            "Copy the reference exactly, character for character, as printed on the document, "
            "and check the document code. For a paper document that was never dematerialised, "
            "special mention 73000 allows validation under customs control."
        ),
    ),
    MessageDef(
        code="F022",
        label_fr="Document non valide",
        label_en="Document not valid",
        forceable=False,
        advice_fr=(
            "Ce document n'est plus utilisable (épuisé, annulé ou déjà utilisé par une autre "
            "déclaration). Joignez un document valide ou contactez l'organisme qui l'a délivré."
        ),
        advice_en=(
            "This document can no longer be used (exhausted, cancelled or already used by "
            "another declaration). Attach a valid document or contact its issuing body."
        ),
    ),
    MessageDef(
        code="F030",
        label_fr="N° de ligne non conforme",
        label_en="Line number not compliant",
        forceable=False,
        advice_fr="Pour une DI, indiquez 1 comme numéro de ligne dans la fiche d'imputation.",
        advice_en="For a DI, enter 1 as the line number on the imputation sheet.",
    ),
    MessageDef(
        code="F031",
        label_fr="N° de ligne non renseigné",
        label_en="Line number missing",
        forceable=False,
        advice_fr="Renseignez le numéro de ligne dans la fiche d'imputation (1 pour une DI).",
        advice_en="Fill in the line number on the imputation sheet (1 for a DI).",
    ),
    MessageDef(
        code="F032",
        label_fr="Produits déclarés non conformes au document",
        label_en="Declared goods do not match the document",
        forceable=True,  # GUN_RULES §4: nomenclature change without effect on validity
        advice_fr=(
            "Vérifiez le code marchandise de l'article : il doit commencer par le numéro de tarif "
            "du document. Si l'écart vient d'une évolution de la nomenclature, la mention "
            "spéciale 73000 permet de valider sous contrôle douanier."
        ),
        advice_en=(
            "Check the item's commodity code: it must begin with the document's tariff number. "
            "If the difference comes from a nomenclature change, special mention 73000 allows "
            "validation under customs control."
        ),
    ),
    MessageDef(
        code="F033",
        label_fr="Quantité trop importante sur la fiche d'imputation",
        label_en="Quantity on the imputation sheet too large",
        forceable=False,
        advice_fr=(
            "La quantité imputée dépasse le solde disponible du document (en additionnant toutes "
            "les fiches de la déclaration qui l'utilisent). Réduisez la quantité ou joignez un "
            "autre document pour le reste."
        ),
        advice_en=(
            "The quantity exceeds the document's available balance (adding up every sheet of "
            "the declaration that uses it). Lower the quantity or attach another document for "
            "the rest."
        ),
    ),
    MessageDef(
        code="F034",
        label_fr="Unité de mesure non-conforme",
        label_en="Unit of measure not compliant",
        forceable=False,
        advice_fr=(
            "Indiquez exactement l'unité du document dans « Unité d'imputation » (KGM pour une "
            "DI, en majuscules)."
        ),
        advice_en=(
            "Enter exactly the document's unit as the imputation unit (KGM for a DI, in capitals)."
        ),
    ),
    MessageDef(
        code="F041",
        label_fr="Fiche d'imputation absente",
        label_en="Imputation sheet missing",
        forceable=False,
        advice_fr=(
            "Ajoutez une fiche d'imputation à ce document : elle est obligatoire pour ce code "
            "document (pour une DI : numéro de ligne, nombre et unité)."
        ),
        advice_en=(
            "Add an imputation sheet to this document: this document code requires one (for a "
            "DI: line number, quantity and unit)."
        ),
    ),
    MessageDef(
        code="F042",
        label_fr="Unité de mesure non renseignée",
        label_en="Unit of measure missing",
        forceable=False,
        advice_fr="Renseignez l'unité d'imputation dans la fiche d'imputation (KGM pour une DI).",
        advice_en="Fill in the imputation unit on the imputation sheet (KGM for a DI).",
    ),
    MessageDef(
        code="F045",
        label_fr="Quantité non renseignée",
        label_en="Quantity missing",
        forceable=False,
        advice_fr=(
            "Renseignez la rubrique « Nombre » de la fiche d'imputation : la quantité nette "
            "importée, dans l'unité du document."
        ),
        advice_en=(
            "Fill in the quantity on the imputation sheet: the net quantity imported, in the "
            "document's unit."
        ),
    ),
    MessageDef(
        code="F046",
        label_fr="Pays d'origine non conforme au document",
        label_en="Country of origin does not match the document",
        forceable=False,
        advice_fr=(
            "Le pays d'origine de l'article doit être le pays de production indiqué sur le "
            "document. Corrigez l'article ou joignez le bon document."
        ),
        advice_en=(
            "The item's country of origin must be the country of production shown on the "
            "document. Correct the item or attach the right document."
        ),
    ),
    MessageDef(
        code="F047",
        label_fr="Importateur non conforme au document",
        label_en="Importer does not match the document",
        forceable=False,
        advice_fr=(
            "L'EORI de l'importateur doit être celui du titulaire du document. Corrigez "
            "l'importateur ou joignez un document délivré à cet importateur."
        ),
        advice_en=(
            "The importer's EORI must be the document holder's. Correct the importer or attach "
            "a document issued to this importer."
        ),
    ),
    MessageDef(
        code="F048",
        label_fr=(
            "Incohérence entre la masse nette de l'article (case 38) et la/les quantité(s) "
            "déclarée(s) sur la/les fiche(s) d'imputation"
        ),
        label_en=(
            "Inconsistency between the item's net mass (box 38) and the quantity(ies) declared "
            "on the imputation sheet(s)"
        ),
        forceable=False,
        advice_fr=(
            "La masse nette de l'article doit égaler, à 1 kg près, la somme des quantités en KGM "
            "des fiches d'imputation des DI de cet article. Corrigez l'une ou l'autre."
        ),
        advice_en=(
            "The item's net mass must equal, within 1 kg, the sum of the KGM quantities on the "
            "DI imputation sheets of that item. Correct one or the other."
        ),
    ),
)

MESSAGES: Mapping[str, MessageDef] = MappingProxyType({d.code: d for d in _DEFINITIONS})
"""The catalogue, by code."""


def message_def(code: str) -> MessageDef:
    """The catalogue entry of ``code``; KeyError for a code the catalogue does not hold."""
    return MESSAGES[code]


@dataclass(frozen=True)
class Message:
    """One GUN message.

    ``document_index`` is the 0-based position of the document in the item's documents
    (None for F048, which names the item only). A passive message is recorded, never blocking.
    """

    code: str
    item: int
    document_code: str | None = None
    reference: str | None = None
    document_index: int | None = None
    passive: bool = False

    def __post_init__(self) -> None:
        if self.code not in MESSAGES:
            raise ValueError(f"unknown GUN message code {self.code!r}")

    @property
    def definition(self) -> MessageDef:
        return MESSAGES[self.code]

    @property
    def label(self) -> str:
        return self.definition.label_fr

    @property
    def label_en(self) -> str:
        return self.definition.label_en

    @property
    def forceable(self) -> bool:
        return self.definition.forceable

    @property
    def sort_key(self) -> tuple[int, bool, int, str]:
        """GUN_RULES §3: by item, then document line (item-level messages last), then code."""
        index = self.document_index
        return (self.item, index is None, index if index is not None else 0, self.code)
