"""Input types of the GUN engine: the declaration as lodged and the partner's view of a document.

Plain frozen dataclasses, no Django: the service layer builds them from models or API payloads.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

DocumentKey = tuple[str, str]
"""(document code, reference): how a partner document is named."""


@dataclass(frozen=True)
class Imputation:
    """The imputation sheet (fiche d'imputation) of one box-44 document; any field may be empty."""

    line_number: int | None = None
    product_reference: str | None = None
    trade_name: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    provisional_weight: Decimal | None = None
    weight_unit: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    net_mass_kg: Decimal | None = None


@dataclass(frozen=True)
class DocumentRef:
    """One document line of box 44: code, reference, date and the optional imputation sheet."""

    code: str
    reference: str
    date: datetime.date | None = None
    imputation: Imputation | None = None


@dataclass(frozen=True)
class Item:
    """One item (article) of the declaration."""

    item_number: int
    commodity_code: str
    origin_country: str
    net_mass_kg: Decimal
    documents: tuple[DocumentRef, ...] = ()


@dataclass(frozen=True)
class Declaration:
    """What the GUN checks: the importer, the special mentions and the items."""

    importer_eori: str
    special_mentions: frozenset[str] = field(default_factory=frozenset)
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class PartnerLine:
    """One line of a partner document.

    ``available`` is computed by the caller for the declaration being checked:
    initial - imputed - reserved by *other* declarations (GUN_RULES §5: own reservation counts).
    """

    line: int
    commodity_code: str
    origin_country: str
    quantity: Decimal
    unit: str
    available: Decimal


@dataclass(frozen=True)
class PartnerDocument:
    """A document as its partner system knows it.

    ``used_by_other``: a single-use document already reserved or imputed by another declaration.
    """

    code: str
    reference: str
    status: str
    holder_eori: str
    lines: tuple[PartnerLine, ...] = ()
    used_by_other: bool = False


class PartnerUnavailable(Exception):
    """Raised by a lookup when the partner could not be reached or answered an error (T001)."""

    def __init__(self, partner: str, detail: str = "") -> None:
        super().__init__(f"{partner}: {detail}" if detail else partner)
        self.partner = partner
        self.detail = detail


Lookup = Callable[[str, list[DocumentKey]], Mapping[DocumentKey, PartnerDocument | None]]
"""lookup(partner, [(code, reference), ...]) -> {(code, reference): document or None}.

None, or a key missing from the answer, means the partner does not know the document (F001).
May raise PartnerUnavailable (T001 for every document of that partner).
"""
