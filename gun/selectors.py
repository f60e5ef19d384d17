"""Reads of GUN data, by concept: declarations, partner documents, controls, partner links,
mandates, and the per-process copies of the configuration. The API, the pages, the tasks and
the other apps all read through these functions; each list costs a fixed number of queries,
whatever its length.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils import timezone
from django.utils.translation import get_language

from gun import sql
from gun.engine import RULES
from gun.fields import CONTENT_DOCUMENT_COLUMNS, CONTENT_ITEM_COLUMNS
from gun.models import (
    AdapterKind,
    CheckMode,
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
    Mandate,
    PartnerDocument,
    PartnerDocumentLine,
    PartnerLink,
    PropagationState,
    Reservation,
)
from sesame.models import Company
from sesame.search import SearchText, search_filter
from sesame.versioned import VersionedCopies

# Indexed as they are here by migration gun 0007 (gun_*_search_trgm): keep them identical.
DECLARATION_SEARCH_TEXT = SearchText(Coalesce(F("mrn"), Value("")), F("client_reference"))
DOCUMENT_SEARCH_TEXT = SearchText(F("code"), F("reference"))

# =============================================================================================
# Declarations
# =============================================================================================


def _with_details(queryset: QuerySet[Declaration]) -> QuerySet[Declaration]:
    """Everything a declaration response shows, in a constant number of queries."""
    return queryset.select_related("post", "last_run", "company").prefetch_related(
        Prefetch("items", queryset=DeclarationItem.objects.prefetch_related("documents")),
        Prefetch("last_run__messages", queryset=GunMessage.objects.order_by("order")),
    )


def declarations_for_company(
    *,
    company: Any,
    status: str | None = None,
    mrn: str | None = None,
    control_required: bool | None = None,
    search: str = "",
) -> QuerySet[Declaration]:
    """The company's declarations, newest first, as summaries: the header, the post and the
    last GUN run with its messages, never the items (a page of large declarations stays small).
    ``search``: part of the MRN or of the client reference."""
    queryset = Declaration.objects.filter(company=company)
    if status:
        queryset = queryset.filter(status=status)
    if mrn:
        queryset = queryset.filter(mrn=mrn)
    if control_required is not None:
        queryset = queryset.filter(control_required=control_required)
    queryset = search_filter(queryset, DECLARATION_SEARCH_TEXT, search)
    return (
        queryset.select_related("post", "last_run")
        .prefetch_related(
            Prefetch("last_run__messages", queryset=GunMessage.objects.order_by("order"))
        )
        .order_by("-created_at", "-pk")
    )


def declaration_get(*, pk: Any, company: Any = None) -> Declaration | None:
    """One declaration with its details; None when absent or of another company."""
    queryset = Declaration.objects.filter(pk=pk)
    if company is not None:
        queryset = queryset.filter(company=company)
    return _with_details(queryset).first()


def declaration_content(*, declaration_id: Any) -> list[dict[str, Any]]:
    """The declaration's items, each with ``documents`` (box 44 with the imputation sheet), as
    plain dicts keyed by column (``gun.fields``) in item then document order: one query."""
    return _content(
        sql.read_content_rows(declaration_id, CONTENT_ITEM_COLUMNS, CONTENT_DOCUMENT_COLUMNS)
    )


def _content(rows: list[tuple]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    width = len(CONTENT_ITEM_COLUMNS)
    for row in rows:
        if not items or items[-1]["id"] != row[0]:
            item = dict(zip(CONTENT_ITEM_COLUMNS, row[:width], strict=True))
            items.append({**item, "documents": []})
        if row[width] is not None:
            document = dict(zip(CONTENT_DOCUMENT_COLUMNS, row[width + 1 :], strict=True))
            items[-1]["documents"].append(document)
    return items


def declaration_with_content(
    *, pk: Any, company: Any
) -> tuple[Declaration | None, list[dict[str, Any]]]:
    """The declaration row, None when absent or of another company, and its content as
    ``declaration_content``, in one prepared statement (``gun.sql.read_with_content``): what a
    validation reads before taking any lock. ``company`` (an instance) is attached without a
    query."""
    declaration, rows = sql.read_with_content(
        pk, getattr(company, "pk", company), CONTENT_ITEM_COLUMNS, CONTENT_DOCUMENT_COLUMNS
    )
    if declaration is None:
        return None, []
    if isinstance(company, Company):
        declaration.company = company
    return declaration, _content(rows)


def _english() -> bool:
    return (get_language() or "fr").startswith("en")


@dataclass
class MessageView:
    """A GUN message with its catalogue entry (labels, advice)."""

    message: GunMessage

    @property
    def definition(self) -> Any:
        return RULES.get(self.message.code)

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
class DocumentView:
    """One box-44 document of an item with its partner document, balances and ledger."""

    document: ItemDocument
    partner_document: PartnerDocument | None
    balances: list[LineBalance]
    ledger: list[LedgerEntry]
    visible: bool  # the balances may be shown to this reader


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


def declarations_awaiting_control(
    *,
    company: Any,
    ids: Sequence[Any] = (),
    mrns: Sequence[str] = (),
    client_references: Sequence[str] = (),
) -> QuerySet[Declaration]:
    """The company's validated declarations that need a customs control not closed yet
    (``control_required`` and the control open), named by id, MRN or client reference (how a
    consignment links its declarations), oldest validation first."""
    named = (
        Q(pk__in=list(ids))
        | Q(mrn__in=list(mrns))
        | Q(client_reference__in=list(client_references))
    )
    return (
        Declaration.objects.filter(
            named,
            company=company,
            status=DeclarationStatus.VALIDATED,
            control_required=True,
            control_status=ControlStatus.OPEN,
        )
        .select_related("post")
        .order_by("validated_at", "pk")
    )


# =============================================================================================
# Partner documents and their balances
# =============================================================================================


def partner_document_get(*, code: str, reference: str) -> PartnerDocument | None:
    """A published document with its lines (and their balances)."""
    return (
        PartnerDocument.objects.filter(code=code, reference=reference)
        .select_related("used_by__company")
        .prefetch_related("lines")
        .first()
    )


def partner_documents_of_holder(*, eori: str, search: str = "") -> QuerySet[PartnerDocument]:
    """Documents whose holder is this EORI, with their lines; ``search``: part of the code or
    reference."""
    queryset = search_filter(
        PartnerDocument.objects.filter(holder_eori=eori), DOCUMENT_SEARCH_TEXT, search
    )
    return (
        queryset.select_related("used_by__company")
        .prefetch_related(Prefetch("lines", queryset=PartnerDocumentLine.objects.order_by("line")))
        .order_by("code", "reference", "pk")
    )


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


# =============================================================================================
# Controls: the agents' review queue
# =============================================================================================


def _degraded() -> Exists:
    # Degraded mode: validated (under 73000) although a partner could not be reached (T001).
    return Exists(
        GunMessage.objects.filter(
            run__declaration=OuterRef("pk"), run__stage="validation", code="T001"
        )
    )


def review_queue(
    *, post_id: int | None, status: str | None, search: str = ""
) -> QuerySet[Declaration]:
    """Declarations validated under control (73000), flagged ``degraded`` when forced through
    T001 (a partner could not be reached).

    ``post_id`` None: every post. ``status``: open, justified (not released yet), unjustified,
    released, or None for all. ``search``: part of the MRN or client reference.
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
    return search_filter(queryset, DECLARATION_SEARCH_TEXT, search)


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


# =============================================================================================
# Partner links and propagation
# =============================================================================================


def pending_entries(*, partner: str | None = None) -> QuerySet[LedgerEntry]:
    """Ledger entries waiting to be delivered to their remote partner, in delivery order: the
    one definition of "pending for a partner" (held entries included; ``failed`` ones were
    refused for good and wait for nobody)."""
    queryset = LedgerEntry.objects.filter(state=PropagationState.PENDING)
    if partner is not None:
        queryset = queryset.filter(partner=partner)
    return queryset.order_by("id")


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
    """Every GUN partner: up or down since when, and its entries pending delivery
    (``pending_entries``)."""
    links = {link.partner: link for link in PartnerLink.objects.all()}
    waiting = dict(
        pending_entries().values_list("partner").annotate(n=Count("id")).values_list("partner", "n")
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


# --- mandates -----------------------------------------------------------------------------


def _mandates_in_force(on: datetime.date | None = None) -> QuerySet[Mandate]:
    day = on or timezone.localdate()
    return Mandate.objects.filter(revoked_at__isnull=True, valid_from__lte=day).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=day)
    )


def mandate_grantor_eoris(*, company: Any, on: datetime.date | None = None) -> frozenset[str]:
    """The EORIs of the importers whose mandate in force lets ``company`` declare for them
    (one query)."""
    return frozenset(
        _mandates_in_force(on)
        .filter(representative_eori=company.eori)
        .values_list("grantor__eori", flat=True)
    )


def mandates_for_company(*, company: Any, role: str | None = None) -> QuerySet[Mandate]:
    """Mandates the company granted (``role="granted"``), received (``"received"``) or both,
    newest first, with the grantor."""
    condition = Q(grantor=company) | Q(representative_eori=company.eori)
    if role == "granted":
        condition = Q(grantor=company)
    elif role == "received":
        condition = Q(representative_eori=company.eori)
    return Mandate.objects.filter(condition).select_related("grantor").order_by("-created_at", "id")


def mandate_get(*, pk: Any, company: Any) -> Mandate | None:
    """A mandate the company granted or received; None otherwise (another company's is never
    returned)."""
    return mandates_for_company(company=company).filter(pk=pk).first()


def mandate_in_force(mandate: Mandate, on: datetime.date | None = None) -> bool:
    day = on or timezone.localdate()
    return (
        mandate.revoked_at is None
        and mandate.valid_from <= day
        and (mandate.valid_until is None or mandate.valid_until >= day)
    )


# =============================================================================================
# Rarely-changing configuration, cached per process
# =============================================================================================
#
# Check modes and partner links are read by every GUN run but change a few times a year. Each
# process keeps its copy (``sesame.versioned``): a change to a CheckMode or PartnerLink row
# (``save``/``delete``, the services and the admin included) drops this process's copies at once
# and bumps the version after commit, so every other process reloads at its next read. A copy
# lives CONFIG_TTL seconds at most (a bulk ``update()`` that sends no signal is seen after that).
# A read inside a transaction (it could roll back, or see its own uncommitted change) always
# goes to the database.

T = TypeVar("T")
CONFIG_TTL = 5.0
CONFIG_VERSION_KEY = "gun:config-version"
VERSION_POLL = 0.25  # seconds: how stale another process's change may be seen
_config: VersionedCopies[Any] = VersionedCopies(
    version_key=CONFIG_VERSION_KEY, ttl=CONFIG_TTL, poll=VERSION_POLL
)


def config_cached(name: str, load: Callable[[], T]) -> T:
    """``load()``, or this process's copy of it while the configuration version is unchanged
    and the copy younger than CONFIG_TTL; inside a transaction, always ``load()``."""
    return _config.get(name, load)


def _config_bump() -> None:
    _config.bump()


def config_changed(**_: Any) -> None:
    """Check modes or partner links changed: drop this process's copies now, and make every
    process reload once the change is committed."""
    _config.bump_on_commit()


for _model in (CheckMode, PartnerLink):
    post_save.connect(config_changed, sender=_model, dispatch_uid=f"gun-config-{_model.__name__}")
    post_delete.connect(
        config_changed, sender=_model, dispatch_uid=f"gun-config-del-{_model.__name__}"
    )
# A database flushed (tests) or migrated: nothing cached from before can be trusted.
post_migrate.connect(lambda **_: _config_bump(), dispatch_uid="gun-config-flush", weak=False)


def declaration_summary(*, company: Any, declaration_id: str = "", mrn: str = "") -> dict | None:
    """A declaration of ``company`` (by id, else by MRN) as plain data for its printed summary:
    header, items with their box-44 documents and imputations, the imputed and reserved
    quantities of the ledger, and every GUN run with its messages (French and English labels).
    None when the company has no such declaration. Reads only; a constant number of queries."""
    from django.core.exceptions import ValidationError

    queryset = Declaration.objects.filter(company=company)
    try:
        if declaration_id:
            queryset = queryset.filter(pk=declaration_id)
        elif mrn:
            queryset = queryset.filter(mrn=mrn)
        else:
            return None
        declaration = _with_details(queryset).first()
    except (ValidationError, ValueError):  # not a UUID
        return None
    if declaration is None:
        return None
    runs = []
    runs_with_messages = declaration.runs.order_by("-id").prefetch_related(
        Prefetch("messages", queryset=GunMessage.objects.order_by("order"))
    )
    for run in runs_with_messages:
        messages = []
        for message in run.messages.all():
            definition = RULES.get(message.code)
            messages.append(
                {
                    "code": message.code,
                    "item": message.item,
                    "document_code": message.document_code or "",
                    "reference": message.reference or "",
                    "label_fr": definition.label_fr if definition else message.code,
                    "label_en": definition.label_en if definition else message.code,
                    "passive": message.passive,
                }
            )
        runs.append(
            {"stage": run.stage, "outcome": run.outcome, "at": run.at, "messages": messages}
        )
    ledger = [
        {
            "item_number": entry.item_number,
            "document_code": entry.document_code,
            "reference": entry.reference,
            "line_number": entry.line_number,
            "phase": entry.phase,
            "quantity": entry.quantity,
            "at": entry.at,
        }
        for entry in declaration.ledger_entries.order_by("id")
    ]
    return {
        "id": str(declaration.pk),
        "mrn": declaration.mrn or "",
        "client_reference": declaration.client_reference,
        "importer_eori": declaration.importer_eori,
        "status": declaration.status,
        "special_mentions": list(declaration.special_mentions),
        "control_required": declaration.control_required,
        "control_status": declaration.control_status,
        "post": declaration.post.code if declaration.post else "",
        "validated_at": declaration.validated_at,
        "released_at": declaration.released_at,
        "items": [
            {
                "item_number": item.item_number,
                "commodity_code": item.commodity_code,
                "origin_country": item.origin_country,
                "net_mass_kg": item.net_mass_kg,
                "documents": [
                    {
                        "code": document.code,
                        "reference": document.reference,
                        "date": document.date,
                        "imputation_quantity": document.imputation_quantity,
                        "imputation_unit": document.imputation_unit or "",
                        "imputation_line_number": document.imputation_line_number,
                    }
                    for document in item.documents.all()
                ],
            }
            for item in declaration.items.all()
        ],
        "ledger": ledger,
        "runs": runs,
    }


def declaration_version_locked(*, pk: Any, company: Any = None) -> int | None:
    """The declaration's ``version``, its row locked FOR UPDATE until the transaction ends (the
    API's If-Match); None when it does not exist or, given ``company``, is not that company's."""
    declarations = Declaration.objects.select_for_update(of=("self",)).filter(pk=pk)
    if company is not None:
        declarations = declarations.filter(company=company)
    return declarations.values_list("version", flat=True).first()


def partner_document_version_locked(*, code: str, reference: str) -> tuple[str, int] | None:
    """(partner, version) of a partner document, its row locked FOR UPDATE until the
    transaction ends (the API's If-Match); None when it does not exist."""
    found = (
        PartnerDocument.objects.select_for_update()
        .filter(code=code, reference=reference)
        .values_list("partner", "version")
        .first()
    )
    return None if found is None else (str(found[0]), int(found[1]))
