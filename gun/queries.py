"""Reads behind the GUN pages: the agents' review queue, declaration details, document balances
and partner links. Each list is built with a fixed number of queries, whatever its length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils.translation import get_language

from gun.engine import MESSAGES
from gun.models import (
    AdapterKind,
    Control,
    ControlStatus,
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    GunMessage,
    GunPartner,
    GunRun,
    ItemDocument,
    LedgerEntry,
    LedgerPhase,
    PartnerDocument,
    PartnerDocumentLine,
    PartnerLink,
    PropagationState,
    Reservation,
)
from sesame.models import Company

QUEUE_STATUSES = ("open", "justified", "unjustified", "released")


# --- the agents' review queue ------------------------------------------------------------


def _degraded() -> Exists:
    # Degraded mode: validated (under 73000) although a partner could not be reached (T001).
    return Exists(
        GunMessage.objects.filter(
            run__declaration=OuterRef("pk"), run__stage="validation", code="T001"
        )
    )


def review_queue(*, post_id: int | None, status: str | None) -> QuerySet[Declaration]:
    """Declarations validated under control (73000), flagged ``degraded`` when forced through
    T001 (a partner could not be reached).

    ``post_id`` None: every post. ``status``: open, justified (not released yet), unjustified,
    released, or None for all.
    """
    queryset = (
        Declaration.objects.filter(control_required=True)
        .exclude(status__in=[DeclarationStatus.ANTICIPATED, DeclarationStatus.CANCELLED])
        .select_related("company", "post", "last_run")
        .annotate(degraded=_degraded())
        .order_by("validated_at", "pk")
    )
    if post_id is not None:
        queryset = queryset.filter(post_id=post_id)
    if status == "open":
        queryset = queryset.filter(control_status=ControlStatus.OPEN)
    elif status == "justified":
        queryset = queryset.filter(
            control_status=ControlStatus.JUSTIFIED, status=DeclarationStatus.VALIDATED
        )
    elif status == "unjustified":
        queryset = queryset.filter(control_status=ControlStatus.UNJUSTIFIED).exclude(
            status=DeclarationStatus.RELEASED
        )
    elif status == "released":
        queryset = queryset.filter(status=DeclarationStatus.RELEASED)
    return queryset


def open_controls_count(*, post_id: int) -> int:
    """How many controls wait for a decision at a post (agents' dashboard)."""
    return Declaration.objects.filter(
        post_id=post_id, control_status=ControlStatus.OPEN, status=DeclarationStatus.VALIDATED
    ).count()


def declaration_for_review(*, pk: Any) -> Declaration | None:
    """Any declaration an agent may review (validated or later), or None."""
    return (
        Declaration.objects.select_related("company", "post", "last_run")
        .exclude(status=DeclarationStatus.ANTICIPATED)
        .filter(pk=pk)
        .first()
    )


# --- operators ---------------------------------------------------------------------------


def declarations_of_company(
    *, company: Company, status: str | None = None, search: str = ""
) -> QuerySet[Declaration]:
    """A company's declarations, newest first, with their last GUN run."""
    queryset = Declaration.objects.filter(company=company).select_related("last_run")
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(Q(mrn__icontains=search) | Q(client_reference__icontains=search))
    return queryset.order_by("-created_at", "pk")


def declaration_of_company(*, company: Company, pk: Any) -> Declaration | None:
    """The company's declaration, or None (another company's declaration is never returned)."""
    return (
        Declaration.objects.select_related("company", "post", "last_run")
        .filter(company=company, pk=pk)
        .first()
    )


def partner_documents_of_holder(*, eori: str) -> QuerySet[PartnerDocument]:
    """Documents whose holder is this EORI, with their lines."""
    return (
        PartnerDocument.objects.filter(holder_eori=eori)
        .select_related("used_by__company")
        .prefetch_related(Prefetch("lines", queryset=PartnerDocumentLine.objects.order_by("line")))
        .order_by("code", "reference")
    )


# --- a declaration in detail -------------------------------------------------------------


def _english() -> bool:
    return (get_language() or "fr").startswith("en")


@dataclass
class MessageView:
    """A GUN message with its catalogue entry (labels, advice)."""

    message: GunMessage

    @property
    def definition(self) -> Any:
        return MESSAGES.get(self.message.code)

    @property
    def label(self) -> str:
        """French label (the seed's); English in the English interface."""
        definition = self.definition
        if definition is None:
            return self.message.code
        return definition.label_en if _english() else definition.label_fr

    @property
    def advice(self) -> str:
        definition = self.definition
        if definition is None:
            return ""
        return definition.advice_en if _english() else definition.advice_fr

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)


@dataclass
class Holder:
    """A declaration holding (reserved or imputed) a quantity of a document line."""

    declaration: Declaration
    reserved: Decimal = Decimal(0)
    imputed: Decimal = Decimal(0)


@dataclass
class LineBalance:
    line: PartnerDocumentLine
    holders: list[Holder] = field(default_factory=list)

    @property
    def available(self) -> Decimal:
        return self.line.available


@dataclass
class DocumentView:
    """One box-44 document of an item with its partner document, balances and ledger."""

    document: ItemDocument
    partner_document: PartnerDocument | None
    balances: list[LineBalance]
    ledger: list[LedgerEntry]
    visible: bool  # the balances may be shown to this reader


def _holders(lines: list[PartnerDocumentLine]) -> dict[int, list[Holder]]:
    """Per line id, the declarations holding it: 2 queries whatever the number of lines."""
    by_line: dict[int, dict[Any, Holder]] = defaultdict(dict)
    ids = [line.pk for line in lines]
    if not ids:
        return {}
    for reservation in Reservation.objects.filter(line_id__in=ids).select_related(
        "declaration__company"
    ):
        holder = by_line[reservation.line_id].setdefault(
            reservation.declaration_id, Holder(reservation.declaration)
        )
        holder.reserved += reservation.quantity
    imputed = (
        LedgerEntry.objects.filter(line_id__in=ids, phase=LedgerPhase.IMPUTE)
        .values("line_id", "declaration_id")
        .annotate(total=Sum("quantity"))
    )
    rows = list(imputed)
    declarations = Declaration.objects.select_related("company").in_bulk(
        {row["declaration_id"] for row in rows}
    )
    for row in rows:
        declaration = declarations.get(row["declaration_id"])
        if declaration is None:
            continue
        holder = by_line[row["line_id"]].setdefault(row["declaration_id"], Holder(declaration))
        holder.imputed += row["total"]
    return {line_id: list(holders.values()) for line_id, holders in by_line.items()}


def document_balances(documents: list[PartnerDocument]) -> dict[int, list[LineBalance]]:
    """Per partner document id, its lines with initial/reserved/imputed/available and holders.

    Single-use documents are held whole by ``used_by``; the documents' lines must be prefetched.
    """
    lines = [line for document in documents for line in document.lines.all()]
    holders = _holders(lines)
    result: dict[int, list[LineBalance]] = {}
    for document in documents:
        balances = []
        for line in document.lines.all():
            line_holders = holders.get(line.pk, [])
            if document.single_use and document.used_by is not None:
                state = document.used_state
                quantity = line.quantity
                line_holders = [
                    Holder(
                        document.used_by,
                        reserved=quantity if state == "reserved" else Decimal(0),
                        imputed=quantity if state == "imputed" else Decimal(0),
                    )
                ]
            balances.append(LineBalance(line, line_holders))
        result[document.pk] = balances
    return result


def partner_document_uses(*, document: PartnerDocument) -> list[dict[str, Any]]:
    """Every declaration holding (reserved or imputed) a line of ``document``, per line: what
    the document's holder sees of it (the declarant's EORI and name, MRN, status, quantities).
    The document's lines must be prefetched, its ``used_by`` selected with its company."""
    return [
        {
            "line": balance.line.line,
            "declarant_eori": holder.declaration.company.eori,
            "declarant_name": holder.declaration.company.name,
            "mrn": holder.declaration.mrn,
            "status": holder.declaration.status,
            "reserved": holder.reserved,
            "imputed": holder.imputed,
        }
        for balance in document_balances([document]).get(document.pk, [])
        for holder in balance.holders
    ]


@dataclass
class DeclarationDetail:
    declaration: Declaration
    items: list[tuple[DeclarationItem, list[DocumentView]]]
    runs: list[tuple[GunRun, list[MessageView]]]
    last_messages: list[MessageView]
    controls: list[Control]


def declaration_detail(*, declaration: Declaration, show_all_balances: bool) -> DeclarationDetail:
    """Items, documents with partner balances and ledger entries, runs and messages, controls.

    ``show_all_balances`` False (operators): balances only of documents held by the declaration's
    importer or the declaring company. A fixed number of queries whatever the sizes.
    """
    items = list(
        DeclarationItem.objects.filter(declaration=declaration)
        .prefetch_related(Prefetch("documents", queryset=ItemDocument.objects.order_by("position")))
        .order_by("item_number")
    )
    keys = {(doc.code, doc.reference) for item in items for doc in item.documents.all()}
    partner_documents: dict[tuple[str, str], PartnerDocument] = {}
    if keys:
        condition = Q()
        for code, reference in keys:
            condition |= Q(code=code, reference=reference)
        for document in (
            PartnerDocument.objects.filter(condition)
            .select_related("used_by")
            .prefetch_related(
                Prefetch("lines", queryset=PartnerDocumentLine.objects.order_by("line"))
            )
        ):
            partner_documents[(document.code, document.reference)] = document
    allowed = {declaration.importer_eori, declaration.company.eori}
    visible_documents = [
        document
        for document in partner_documents.values()
        if show_all_balances or document.holder_eori in allowed
    ]
    balances = document_balances(visible_documents)
    ledger: dict[tuple[int | None, str, str], list[LedgerEntry]] = defaultdict(list)
    for entry in LedgerEntry.objects.filter(declaration=declaration).order_by("id"):
        ledger[(entry.item_number, entry.document_code, entry.reference)].append(entry)
    item_views = []
    for item in items:
        views = []
        for doc in item.documents.all():
            partner_document = partner_documents.get((doc.code, doc.reference))
            shown = balances.get(partner_document.pk) if partner_document is not None else None
            visible = shown is not None
            views.append(
                DocumentView(
                    document=doc,
                    partner_document=partner_document,
                    balances=shown or [],
                    ledger=ledger.get((item.item_number, doc.code, doc.reference), []),
                    visible=visible,
                )
            )
        item_views.append((item, views))
    runs = list(
        GunRun.objects.filter(declaration=declaration)
        .prefetch_related(Prefetch("messages", queryset=GunMessage.objects.order_by("order")))
        .order_by("-at", "-id")
    )
    run_views = [(run, [MessageView(m) for m in run.messages.all()]) for run in runs]
    last_messages = run_views[0][1] if run_views else []
    controls = list(
        Control.objects.filter(declaration=declaration)
        .select_related("agent")
        .order_by("-opened_at", "-id")
    )
    return DeclarationDetail(declaration, item_views, run_views, last_messages, controls)


# --- partner links -----------------------------------------------------------------------


@dataclass
class LinkStatus:
    partner: str
    label: str
    kind: str
    up: bool
    since: Any
    waiting: int
    last_error: str


def partner_link_statuses() -> list[LinkStatus]:
    """Every GUN partner: up or down since when, and the ledger entries waiting to be sent."""
    links = {link.partner: link for link in PartnerLink.objects.all()}
    waiting = dict(
        LedgerEntry.objects.exclude(state=PropagationState.SENT)
        .values_list("partner")
        .annotate(n=Count("id"))
        .values_list("partner", "n")
    )
    statuses = []
    for value, label in GunPartner.choices:
        link = links.get(value)
        statuses.append(
            LinkStatus(
                partner=value,
                label=str(label),
                kind=link.get_kind_display() if link else str(AdapterKind.LOCAL.label),
                up=link.up if link else True,
                since=link.since if link else None,
                waiting=waiting.get(value, 0),
                last_error=link.last_error if link else "",
            )
        )
    return statuses
