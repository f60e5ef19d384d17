"""The ``local`` adapter: partner documents published into the portal (PartnerDocument rows)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from django.db.models import Q

from gun.engine import DocumentKey, PartnerDocument, PartnerLine
from gun.models import LedgerEntry, PartnerDocumentLine, Reservation


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
            answer[(document.code, document.reference)] = PartnerDocument(
                code=document.code,
                reference=document.reference,
                status=document.status,
                holder_eori=document.holder_eori,
                used_by_other=(
                    document.single_use
                    and document.used_by_id is not None
                    and document.used_by_id != declaration_id
                ),
                lines=tuple(
                    PartnerLine(
                        line=line.line,
                        commodity_code=line.commodity_code,
                        origin_country=line.origin_country,
                        quantity=line.quantity,
                        unit=line.unit,
                        available=line.available + own.get(line.pk, Decimal(0)),
                    )
                    for line in by_document[document_id]
                ),
            )
        # A published document without lines is still known to its partner.
        missing = [key for key, value in answer.items() if value is None]
        if missing:
            from gun.models import PartnerDocument as Row

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

    def send(self, entry: LedgerEntry) -> None:
        """Nothing to deliver: the balances were moved in the entry's own transaction."""
