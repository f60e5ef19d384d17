"""The ledger (GUN_RULES §5): what a declaration reserves, the release and the imputation of
its reservations, and the balances they move.

Every function here runs inside the caller's transaction, after the caller has locked the
declaration row and, through ``documents_lock``, the partner documents and lines it touches
(always in primary-key order, so two transactions never wait on each other in a cycle).

A reservation is an open ``reserve`` entry; a ``release`` or ``impute`` entry closes exactly
one of them (``closes`` is one-to-one: the database refuses a second closing). The balances
(``PartnerDocumentLine.reserved/imputed``, ``PartnerDocument.used_by``) and the ``Reservation``
rows are moved in the same transaction with plain ORM statements, a constant number of them
whatever the number of items and documents; the database's CHECK constraints are the last line
of defence. A validation's writes are planned here (``reservation_writes``) and sent by the
validation's store (``gun.sql``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from gun.engine import Declaration as EngineDeclaration
from gun.engine import DocumentKey, profile_for
from gun.engine import PartnerDocument as EnginePartnerDocument
from gun.errors import GunConflict
from gun.models import (
    Declaration,
    LedgerEntry,
    LedgerPhase,
    PartnerDocument,
    PartnerDocumentLine,
    PartnerDocumentStatus,
    PropagationState,
    Reservation,
)

ZERO = Decimal(0)
USED_RESERVED = "reserved"  # PartnerDocument.used_state of a single-use document reserved
USED_IMPUTED = "imputed"


@dataclass(frozen=True)
class Movement:
    """One planned reservation: a document of one item, on one line for reusable documents."""

    item_number: int
    partner: str
    document_code: str
    reference: str
    quantity: Decimal
    document_id: int | None = None
    line_id: int | None = None
    line_number: int | None = None
    single_use: bool = False
    held: bool = False  # written while the partner is unreachable (T001 forced by 73000)


@dataclass
class LockedDocuments:
    """Local partner documents locked for this transaction, with their lines."""

    documents: dict[DocumentKey, PartnerDocument]
    lines: dict[int, list[PartnerDocumentLine]]  # by document id, in line order


@dataclass
class ReservationWrites:
    """What an accepted validation reserves, as rows: the ledger entries, the reserved
    quantity added per line, the single-use documents taken whole, the ``Reservation`` rows."""

    entries: list[dict[str, Any]]  # LedgerEntry rows by attname
    line_deltas: dict[int, Decimal]  # line id -> reserved added
    single_use: list[int]  # ids of the single-use documents taken
    reservations: list[dict[str, Any]]  # Reservation rows by attname
    now: datetime

    def remote_entries(self, remote_partners: set[str]) -> list[LedgerEntry]:
        """The entries propagation must deliver (remote partners), as unsaved instances."""
        return [
            LedgerEntry(**row, at=self.now)
            for row in self.entries
            if row["partner"] in remote_partners
        ]


def documents_lock(keys: Iterable[DocumentKey]) -> LockedDocuments:
    """Lock the partner documents named by ``keys`` then their lines, each in primary-key
    order (the order every transaction moving quantities takes them in): two queries."""
    keys = set(keys)
    if not keys:
        return LockedDocuments({}, {})
    condition = Q()
    for code, reference in sorted(keys):
        condition |= Q(code=code, reference=reference)
    documents = list(PartnerDocument.objects.select_for_update().filter(condition).order_by("pk"))
    lines: dict[int, list[PartnerDocumentLine]] = defaultdict(list)
    for line in (
        PartnerDocumentLine.objects.select_for_update()
        .filter(document__in=[d.pk for d in documents])
        .order_by("pk")
    ):
        lines[line.document_id].append(line)
    for document_lines in lines.values():
        document_lines.sort(key=lambda line: line.line)
    return LockedDocuments({(d.code, d.reference): d for d in documents}, dict(lines))


def declaration_keys(declaration: EngineDeclaration) -> set[DocumentKey]:
    """The (code, reference) of every GUN document of the declaration."""
    return {
        (document.code, document.reference)
        for item in declaration.items
        for document in item.documents
        if profile_for(document.code) is not None
    }


def open_reservations(*, declaration: Declaration) -> list[LedgerEntry]:
    """The declaration's reserve entries not yet released or imputed, in id order."""
    return list(
        LedgerEntry.objects.filter(
            declaration=declaration, phase=LedgerPhase.RESERVE, closed_by__isnull=True
        ).order_by("id")
    )


def plan_reservations(
    *,
    declaration: EngineDeclaration,
    declaration_id: object,
    locked: LockedDocuments,
    local_partners: set[str],
    unknown: set[DocumentKey],
    unavailable_partners: set[str],
    own: Mapping[int, Decimal],
    remote_documents: Mapping[DocumentKey, EnginePartnerDocument] | None = None,
) -> list[Movement]:
    """What an accepted run reserves (GUN_RULES §5): single-use documents whole, once per
    declaration; reusable ones for each sheet's quantity, on the sheet's line first then the
    others in line order. Documents unknown to their partner (forced F001) reserve nothing;
    documents of an unreachable partner (forced T001) reserve the sheet's quantity, held.

    ``own``: this declaration's current reservation per line id, available to it again.
    ``remote_documents``: what remote partners answered, for the whole quantity of their
    single-use documents.
    """
    remote_documents = remote_documents or {}
    movements: list[Movement] = []
    taken: set[DocumentKey] = set()
    used: dict[int, Decimal] = defaultdict(Decimal)  # line id -> planned in this run
    for item in sorted(declaration.items, key=lambda item: item.item_number):
        for document in item.documents:
            profile = profile_for(document.code)
            key = (document.code, document.reference)
            if profile is None or not profile.reference_is_well_formed(document.reference):
                continue
            sheet = document.imputation
            quantity = sheet.quantity if sheet is not None and sheet.quantity else ZERO
            line_number = sheet.line_number if sheet is not None else None
            base: dict[str, Any] = {
                "item_number": item.item_number,
                "partner": profile.partner,
                "document_code": document.code,
                "reference": document.reference,
            }
            if profile.partner in unavailable_partners:
                if profile.single_use and key in taken:
                    continue
                taken.add(key)
                movements.append(
                    Movement(
                        **base,
                        quantity=quantity,
                        line_number=line_number,
                        single_use=profile.single_use,
                        held=True,
                    )
                )
                continue
            if key in unknown:
                continue
            if profile.partner not in local_partners:
                if profile.single_use and key in taken:
                    continue
                taken.add(key)
                if profile.single_use:
                    # GUN_RULES §5: taken whole; the partner's answer says how much that is.
                    remote = remote_documents.get(key)
                    quantity = (
                        sum((line.quantity for line in remote.lines), ZERO) if remote else ZERO
                    )
                movements.append(
                    Movement(
                        **base,
                        quantity=quantity,
                        line_number=line_number,
                        single_use=profile.single_use,
                    )
                )
                continue
            row = locked.documents.get(key)
            if row is None:
                continue
            lines = locked.lines.get(row.pk, [])
            if profile.single_use:
                if key in taken:
                    continue
                taken.add(key)
                movements.append(
                    Movement(
                        **base,
                        quantity=sum((line.quantity for line in lines), ZERO),
                        document_id=row.pk,
                        single_use=True,
                    )
                )
                continue
            if quantity <= 0 or not lines:
                continue
            ordered = sorted(lines, key=lambda line: (line.line != line_number, line.line))
            remaining = quantity
            for line in ordered:
                free = line.available + own.get(line.pk, ZERO) - used[line.pk]
                part = min(remaining, max(free, ZERO))
                if line is ordered[-1]:
                    part = remaining  # anything left goes on the last line: the DB decides
                if part <= 0:
                    continue
                used[line.pk] += part
                remaining -= part
                movements.append(
                    Movement(
                        **base,
                        quantity=part,
                        document_id=row.pk,
                        line_id=line.pk,
                        line_number=line.line,
                    )
                )
                if remaining <= 0:
                    break
    return movements


def _entry_state(partner: str, remote: set[str], now: datetime) -> dict[str, Any]:
    """Local partners are the portal itself: the movement is delivered as it is written."""
    if partner in remote:
        return {"state": PropagationState.PENDING.value, "sent_at": None}
    return {"state": PropagationState.SENT.value, "sent_at": now}


def _entry_rows(
    declaration: Declaration,
    movements: list[Movement],
    *,
    who: str,
    operation: str,
    remote_partners: set[str],
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "declaration_id": declaration.pk,
            "item_number": m.item_number,
            "document_id": m.document_id,
            "document_code": m.document_code,
            "reference": m.reference,
            "line_id": m.line_id,
            "line_number": m.line_number,
            "partner": m.partner,
            "quantity": m.quantity,
            "phase": LedgerPhase.RESERVE.value,
            "idempotency_key": f"{declaration.pk}:{operation}:reserve:{n}",
            "who": who,
            "held": m.held,
            **_entry_state(m.partner, remote_partners, now),
        }
        for n, m in enumerate(movements, start=1)
    ]


def _reserved_per_line(movements: Iterable[Movement]) -> dict[int, Decimal]:
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for m in movements:
        if m.line_id is not None:
            deltas[m.line_id] += m.quantity
    return dict(deltas)


def reservation_writes(
    *,
    declaration: Declaration,
    movements: list[Movement],
    who: str,
    operation: str,
    remote_partners: set[str],
) -> ReservationWrites:
    """The rows a first reservation writes (a validation: only a validated declaration holds
    reservations, so its ``Reservation`` rows are the movements' totals per line)."""
    now = timezone.now()
    deltas = _reserved_per_line(movements)
    return ReservationWrites(
        entries=_entry_rows(
            declaration,
            movements,
            who=who,
            operation=operation,
            remote_partners=remote_partners,
            now=now,
        ),
        line_deltas=deltas,
        single_use=sorted({m.document_id for m in movements if m.single_use and m.document_id}),
        reservations=[
            {"declaration_id": declaration.pk, "line_id": line_id, "quantity": reserved}
            for line_id, reserved in sorted(deltas.items())
            if reserved > 0
        ],
        now=now,
    )


def move_lines(deltas: Mapping[int, tuple[Decimal, Decimal]]) -> None:
    """Move ``reserved`` and ``imputed`` of many lines in one UPDATE (the CHECKs apply)."""
    lines = []
    for pk, (reserved, imputed) in sorted(deltas.items()):
        if reserved or imputed:
            line = PartnerDocumentLine(pk=pk)
            line.reserved = F("reserved") + reserved  # type: ignore[assignment]
            line.imputed = F("imputed") + imputed  # type: ignore[assignment]
            lines.append(line)
    if lines:
        PartnerDocumentLine.objects.bulk_update(lines, ["reserved", "imputed"])


def take_single_use(declaration: Declaration, document_ids: list[int]) -> None:
    """Hold single-use documents for ``declaration`` (reserved); ``GunConflict``
    ``document_taken`` when another declaration holds one."""
    if not document_ids:
        return
    taken = (
        PartnerDocument.objects.filter(pk__in=document_ids)
        .filter(Q(used_by__isnull=True) | Q(used_by=declaration))
        .update(used_by=declaration, used_state=USED_RESERVED)
    )
    if taken != len(document_ids):
        raise GunConflict("document_taken", "A single-use document is held by another.")


def _sync_reservations(declaration: Declaration) -> None:
    """Rebuild the declaration's ``Reservation`` rows from its open reserve entries."""
    Reservation.objects.filter(declaration=declaration).delete()
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line_id, quantity in LedgerEntry.objects.filter(
        declaration=declaration,
        phase=LedgerPhase.RESERVE,
        closed_by__isnull=True,
        line__isnull=False,
    ).values_list("line_id", "quantity"):
        totals[line_id] += quantity
    Reservation.objects.bulk_create(
        Reservation(declaration=declaration, line_id=line_id, quantity=quantity)
        for line_id, quantity in totals.items()
        if quantity > 0
    )


def ledger_reserve(
    *,
    declaration: Declaration,
    movements: list[Movement],
    who: str,
    operation: str,
    remote_partners: set[str],
) -> list[LedgerEntry]:
    """Write one reserve entry per movement and move the balances (GUN_RULES §5); the
    declaration's ``Reservation`` rows are rebuilt from its open entries. A single-use
    document held by another declaration raises ``GunConflict("document_taken")``."""
    now = timezone.now()
    rows = _entry_rows(
        declaration,
        movements,
        who=who,
        operation=operation,
        remote_partners=remote_partners,
        now=now,
    )
    entries = LedgerEntry.objects.bulk_create([LedgerEntry(**row) for row in rows])
    move_lines({pk: (r, ZERO) for pk, r in _reserved_per_line(movements).items()})
    take_single_use(
        declaration, sorted({m.document_id for m in movements if m.single_use and m.document_id})
    )
    _sync_reservations(declaration)
    return entries


def ledger_close(
    *,
    declaration: Declaration,
    reservations: list[LedgerEntry],
    phase: str,
    who: str,
    operation: str,
    remote_partners: set[str],
) -> list[LedgerEntry]:
    """Close ``reservations`` by a ``release`` (back to available) or an ``impute`` (for good:
    a reusable document whose imputed quantity reaches its initial one becomes EPU)."""
    if phase not in (LedgerPhase.RELEASE, LedgerPhase.IMPUTE):
        raise ValueError(f"cannot close a reservation with phase {phase!r}")
    if not reservations:
        return []
    now = timezone.now()
    entries = [
        LedgerEntry(
            declaration=declaration,
            item_number=r.item_number,
            document_id=r.document_id,
            document_code=r.document_code,
            reference=r.reference,
            line_id=r.line_id,
            line_number=r.line_number,
            partner=r.partner,
            quantity=r.quantity,
            phase=phase,
            closes=r,
            idempotency_key=f"{declaration.pk}:{operation}:{phase}:{r.pk}",
            who=who,
            held=r.held and r.state != PropagationState.SENT,
            **_entry_state(r.partner, remote_partners, now),
        )
        for r in reservations
    ]
    LedgerEntry.objects.bulk_create(entries)
    deltas: dict[int, tuple[Decimal, Decimal]] = {}
    for r in reservations:
        if r.line_id is not None:
            reserved, imputed = deltas.get(r.line_id, (ZERO, ZERO))
            moved = r.quantity if phase == LedgerPhase.IMPUTE else ZERO
            deltas[r.line_id] = (reserved - r.quantity, imputed + moved)
    move_lines(deltas)
    documents = sorted({r.document_id for r in reservations if r.document_id})
    if documents:
        single = PartnerDocument.objects.filter(
            pk__in=documents, single_use=True, used_by=declaration
        )
        if phase == LedgerPhase.RELEASE:
            single.update(used_by=None, used_state="")
        else:
            single.update(used_state=USED_IMPUTED)
            _mark_exhausted(documents)
    _sync_reservations(declaration)
    return entries


def _mark_exhausted(document_ids: list[int]) -> None:
    """GUN_RULES §5: a reusable document fully imputed becomes EPU."""
    lines = PartnerDocumentLine.objects.filter(document=OuterRef("pk"))
    PartnerDocument.objects.filter(
        pk__in=document_ids, single_use=False, status=PartnerDocumentStatus.VALID
    ).filter(Exists(lines)).exclude(Exists(lines.filter(imputed__lt=F("quantity")))).update(
        status=PartnerDocumentStatus.EXHAUSTED, version=F("version") + 1
    )


def own_reservations(*, declaration: Declaration) -> dict[int, Decimal]:
    """This declaration's reservation per line id (GUN_RULES §5: available to itself)."""
    return dict(
        Reservation.objects.filter(declaration=declaration).values_list("line_id", "quantity")
    )
