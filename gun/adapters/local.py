"""The ``local`` adapter: partner documents published into the portal (PartnerDocument rows)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from django.db.models import Q

from gun.engine import DocumentKey, PartnerDocument, PartnerLine
from gun.models import LedgerEntry, PartnerDocumentLine, Reservation
from gun.models import PartnerDocument as Row

ZERO = Decimal(0)


def partner_document(
    row: Row,
    lines: list[PartnerDocumentLine],
    *,
    declaration_id: uuid.UUID | None,
    own: Mapping[int, Decimal],
) -> PartnerDocument:
    """The engine's view of a published document and its lines (in line order); ``own``: the
    declaration's reservation per line id, available to it again (GUN_RULES §5)."""
    return PartnerDocument(
        code=row.code,
        reference=row.reference,
        status=row.status,
        holder_eori=row.holder_eori,
        used_by_other=(
            row.single_use and row.used_by_id is not None and row.used_by_id != declaration_id
        ),
        lines=tuple(
            PartnerLine(
                line=line.line,
                commodity_code=line.commodity_code,
                origin_country=line.origin_country,
                quantity=line.quantity,
                unit=line.unit,
                available=line.available + own.get(line.pk, ZERO),
            )
            for line in lines
        ),
    )


def lookup_in_rows(
    partner: str,
    keys: list[DocumentKey],
    *,
    documents: Mapping[DocumentKey, Row],
    lines: Mapping[int, list[PartnerDocumentLine]],
    declaration_id: uuid.UUID | None,
    own: Mapping[int, Decimal],
) -> dict[DocumentKey, PartnerDocument | None]:
    """``LocalAdapter.lookup`` answered from rows the caller already read (and locked): the
    documents by key and their lines by document id in line order. No query."""
    answer: dict[DocumentKey, PartnerDocument | None] = {}
    for key in keys:
        row = documents.get(key)
        if row is None or row.partner != partner:
            answer[key] = None
        else:
            answer[key] = partner_document(
                row, lines.get(row.pk, []), declaration_id=declaration_id, own=own
            )
    return answer


class LocalAdapter:
    """Reads the portal's own rows; propagation is immediate (the rows are the partner's truth)."""

    kind = "local"

    def __init__(self, partner: str, link: object = None) -> None:
        self.partner = partner

    def lookup(
        self, keys: list[DocumentKey], *, declaration_id: uuid.UUID | None
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        """Two queries whatever the number of documents: the lines with their documents, and
        this declaration's own reservations on them (GUN_RULES §5: they count as available)."""
        if not keys:
            return {}
        condition = Q()
        for code, reference in keys:
            condition |= Q(document__code=code, document__reference=reference)
        lines = list(
            PartnerDocumentLine.objects.select_related("document")
            .filter(condition, document__partner=self.partner)
            .order_by("document_id", "line")
        )
        own: dict[int, Decimal] = {}
        if declaration_id is not None and lines:
            own = dict(
                Reservation.objects.filter(
                    declaration_id=declaration_id, line_id__in=[line.pk for line in lines]
                ).values_list("line_id", "quantity")
            )
        by_document: dict[int, list[PartnerDocumentLine]] = defaultdict(list)
        documents = {}
        for line in lines:
            by_document[line.document_id].append(line)
            documents[line.document_id] = line.document
        answer: dict[DocumentKey, PartnerDocument | None] = dict.fromkeys(keys)
        for document_id, document in documents.items():
            answer[(document.code, document.reference)] = partner_document(
                document, by_document[document_id], declaration_id=declaration_id, own=own
            )
        # A published document without lines is still known to its partner.
        missing = [key for key, value in answer.items() if value is None]
        if missing:
            condition = Q()
            for code, reference in missing:
                condition |= Q(code=code, reference=reference)
            for row in Row.objects.filter(condition, partner=self.partner):
                answer[(row.code, row.reference)] = PartnerDocument(
                    code=row.code,
                    reference=row.reference,
                    status=row.status,
                    holder_eori=row.holder_eori,
                    used_by_other=row.used_by_id is not None and row.used_by_id != declaration_id,
                )
        return answer

    def mark(self, *, up: bool, error: str = "") -> None:
        """The portal itself: always up."""

    def send(self, entry: LedgerEntry) -> None:
        """Nothing to deliver: the balances were moved in the entry's own transaction."""
