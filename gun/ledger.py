"""The ledger (GUN_RULES §5): reservations, their release, their imputation, and the balances.

Every function here runs inside the caller's transaction, after the caller has locked the
declaration row and, through ``documents_lock``, the partner documents and lines it touches
(always in primary-key order, so two transactions never wait on each other in a cycle).

A reservation is an open ``reserve`` entry; a ``release`` or ``impute`` entry closes exactly
one of them (``closes`` is one-to-one: the database refuses a second closing). The balances
(``PartnerDocumentLine.reserved/imputed``, ``PartnerDocument.used_by``) and the ``Reservation``
rows are moved in the same transaction, with a constant number of queries whatever the number
of items and documents; the database's CHECK constraints are the last line of defence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model, Q
from django.utils import timezone

from gun.engine import Declaration as EngineDeclaration
from gun.engine import DocumentKey, profile_for
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


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    """Insert ``objs`` with one ``INSERT … VALUES (…), (…) RETURNING id`` and set their pks.

    What ``bulk_create`` does for these append-only rows (``auto_now_add`` filled, values
    prepared by their fields, database triggers fire), without compiling a query each time."""
    if not objs:
        return
    db = connections[DEFAULT_DB_ALIAS]
    fields, head, row = _insert_shape(model)
    params: list[object] = []
    for obj in objs:
        for field in fields:
            value = field.pre_save(obj, True)
            # PostgreSQL takes these as they are (what get_db_prep_save returns for them).
            if value is not None and not (
                type(value) in _PLAIN or (type(value) is datetime and value.tzinfo is not None)
            ):
                value = field.get_db_prep_save(value, connection=db)
            params.append(value)
    with db.cursor() as cursor:
        cursor.execute(f"{head} {', '.join([row] * len(objs))} RETURNING id", params)
        ids = [pk for (pk,) in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = db.alias


_PLAIN = frozenset({str, int, bool, Decimal, UUID})
_shapes: dict[type[Model], tuple[list[Field], str, str]] = {}


def _insert_shape(model: type[Model]) -> tuple[list[Field], str, str]:
    """The model's insertable fields, ``INSERT INTO t (cols) VALUES`` and one row's ``(%s…)``."""
    shape = _shapes.get(model)
    if shape is None:
        quote = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(quote(f.column) for f in fields)
        head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES"
        shape = _shapes[model] = (fields, head, "(" + ", ".join(["%s"] * len(fields)) + ")")
    return shape


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


def documents_lock(keys: Iterable[DocumentKey], *, lock: bool = True) -> LockedDocuments:
    """Lock the partner documents named by ``keys`` then their lines, each in pk order.

    Two queries. ``lock=False`` reads without locking (only for the test that shows the race).
    """
    keys = set(keys)
    if not keys:
        return LockedDocuments({}, {})
    # (code, reference) IN (VALUES ...): one index condition whatever the number of keys, and
    # no ORM compilation of an OR per document.
    values = ", ".join(["(%s, %s)"] * len(keys))
    table = PartnerDocument._meta.db_table
    documents_qs = PartnerDocument.objects.raw(
        f"SELECT * FROM {table} WHERE (code, reference) IN (VALUES {values}) "  # noqa: S608
        f"ORDER BY id{' FOR UPDATE' if lock else ''}",
        [part for key in sorted(keys) for part in key],
    )
    documents = {(d.code, d.reference): d for d in documents_qs}
    lines: dict[int, list[PartnerDocumentLine]] = defaultdict(list)
    if documents:
        lines_qs = PartnerDocumentLine.objects.raw(
            f"SELECT * FROM {PartnerDocumentLine._meta.db_table} "  # noqa: S608
            f"WHERE document_id = ANY(%s) ORDER BY id{' FOR UPDATE' if lock else ''}",
            [[d.pk for d in documents.values()]],
        )
        for line in lines_qs:
            lines[line.document_id].append(line)
    for document_lines in lines.values():
        document_lines.sort(key=lambda line: line.line)
    return LockedDocuments(documents, dict(lines))


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
) -> list[Movement]:
    """What an accepted run reserves (GUN_RULES §5): single-use documents whole, once per
    declaration; reusable ones for each sheet's quantity, on the sheet's line first then the
    others in line order. Documents unknown to their partner (forced F001) reserve nothing;
    documents of an unreachable partner (forced T001) reserve the sheet's quantity, held.

    ``own``: this declaration's current reservation per line id, available to it again.
    """
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
            base = {
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


def _apply_line_deltas(deltas: Mapping[int, tuple[Decimal, Decimal]]) -> None:
    """Move ``reserved`` and ``imputed`` of many lines in one UPDATE (the CHECKs apply)."""
    rows = [(pk, r, i) for pk, (r, i) in sorted(deltas.items()) if r or i]
    if not rows:
        return
    values = ", ".join(["(%s::bigint, %s::numeric, %s::numeric)"] * len(rows))
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE gun_partnerdocumentline AS l
                SET reserved = l.reserved + v.r, imputed = l.imputed + v.i
                FROM (VALUES {values}) AS v(id, r, i) WHERE l.id = v.id""",  # noqa: S608
            params,
        )


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


def _entry_state(partner: str, remote: set[str]) -> dict:
    """Local partners are the portal itself: the movement is delivered as it is written."""
    if partner in remote:
        return {"state": PropagationState.PENDING}
    return {"state": PropagationState.SENT, "sent_at": timezone.now()}


def ledger_reserve(
    *,
    declaration: Declaration,
    movements: list[Movement],
    who: str,
    operation: str,
    remote_partners: set[str],
    first: bool = False,
) -> list[LedgerEntry]:
    """Write one reserve entry per movement and move the balances (GUN_RULES §5).

    ``first``: the declaration holds nothing yet (a validation: only a validated declaration
    ever holds reservations), so its ``Reservation`` rows are inserted from the movements
    instead of being rebuilt from the ledger; a row already there is refused by the database
    (unique per declaration and line)."""
    entries = [
        LedgerEntry(
            declaration=declaration,
            item_number=m.item_number,
            document_id=m.document_id,
            document_code=m.document_code,
            reference=m.reference,
            line_id=m.line_id,
            line_number=m.line_number,
            partner=m.partner,
            quantity=m.quantity,
            phase=LedgerPhase.RESERVE,
            idempotency_key=f"{declaration.pk}:{operation}:reserve:{n}",
            who=who,
            held=m.held,
            **_entry_state(m.partner, remote_partners),
        )
        for n, m in enumerate(movements, start=1)
    ]
    insert_rows(LedgerEntry, entries)
    deltas: dict[int, tuple[Decimal, Decimal]] = {}
    for m in movements:
        if m.line_id is not None:
            r, i = deltas.get(m.line_id, (ZERO, ZERO))
            deltas[m.line_id] = (r + m.quantity, i)
    _apply_line_deltas(deltas)
    single_use = sorted({m.document_id for m in movements if m.single_use and m.document_id})
    if single_use:
        taken = PartnerDocument.objects.filter(
            Q(used_by__isnull=True) | Q(used_by=declaration), pk__in=single_use
        ).update(used_by=declaration, used_state="reserved")
        if taken != len(single_use):
            from gun.services.errors import GunConflict

            raise GunConflict("document_taken", "A single-use document is held by another.")
    if first:
        insert_rows(
            Reservation,
            [
                Reservation(declaration=declaration, line_id=line_id, quantity=reserved)
                for line_id, (reserved, _imputed) in sorted(deltas.items())
                if reserved > 0
            ],
        )
    else:
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
            **_entry_state(r.partner, remote_partners),
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
    _apply_line_deltas(deltas)
    documents = sorted({r.document_id for r in reservations if r.document_id})
    if documents:
        single = PartnerDocument.objects.filter(
            pk__in=documents, single_use=True, used_by=declaration
        )
        if phase == LedgerPhase.RELEASE:
            single.update(used_by=None, used_state="")
        else:
            single.update(used_state="imputed")
            _mark_exhausted(documents)
    _sync_reservations(declaration)
    return entries


def _mark_exhausted(document_ids: list[int]) -> None:
    """GUN_RULES §5: a reusable document fully imputed becomes EPU."""
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE gun_partnerdocument AS d SET status = %s, version = d.version + 1
               WHERE d.id = ANY(%s) AND NOT d.single_use AND d.status = %s
               AND EXISTS (SELECT 1 FROM gun_partnerdocumentline l WHERE l.document_id = d.id)
               AND NOT EXISTS (SELECT 1 FROM gun_partnerdocumentline l
                               WHERE l.document_id = d.id AND l.imputed < l.quantity)""",
            [PartnerDocumentStatus.EXHAUSTED, document_ids, PartnerDocumentStatus.VALID],
        )


def own_reservations(*, declaration: Declaration) -> dict[int, Decimal]:
    """This declaration's reservation per line id (GUN_RULES §5: available to itself)."""
    return dict(
        Reservation.objects.filter(declaration=declaration).values_list("line_id", "quantity")
    )
