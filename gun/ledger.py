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

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model
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
from sesame.prepared import Prepared, db_type, insert_statement, named

ZERO = Decimal(0)


class Batch:
    """Statements sent to PostgreSQL in one round trip, in the caller's transaction.

    The simple query protocol runs them in order; the first error aborts the transaction (the
    caller's ``atomic`` rolls it back). ``check`` adds an SQL expression to the closing
    ``SELECT`` (evaluated after every statement), and ``run`` returns their values, so a
    rowcount or a condition the writes must meet is still known without another round trip."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.params: list[object] = []
        self.checks: list[str] = []
        self.check_params: list[object] = []
        # Called with the closing SELECT's row once sent (conditions the writes must meet).
        self.after: list[Callable[[tuple], None]] = []

    def add(self, sql: str, params: Sequence[object] = ()) -> None:
        self.statements.append(sql)
        self.params.extend(params)

    def check(self, sql: str, params: Sequence[object] = ()) -> int:
        """Add ``sql`` to the closing SELECT; returns its index in ``run``'s answer."""
        self.checks.append(sql)
        self.check_params.extend(params)
        return len(self.checks) - 1

    def run(self) -> tuple:
        """Send everything; the closing SELECT's row (``()`` when there is no check)."""
        if not self.statements and not self.checks:
            return ()
        sql = list(self.statements)
        if self.checks:
            sql.append("SELECT " + ", ".join(self.checks))
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("; ".join(sql), [*self.params, *self.check_params])
            row = tuple(cursor.fetchone()) if self.checks else ()
        after = self.after
        self.statements, self.params, self.checks, self.check_params = [], [], [], []
        self.after = []
        for callback in after:
            callback(row)
        return row


def insert_sql(
    model: type[Model], objs: Sequence[Model], *, with_pk: bool = False, returning: bool = False
) -> tuple[str, list[object]]:
    """A prepared ``INSERT`` of ``objs`` (``sesame.prepared.insert_statement``: one array per
    column, one shape for any number of rows): ``auto_now_add`` filled, values prepared by
    their fields, database triggers fire; what ``bulk_create`` sends, without compiling a query
    nor planning it. ``with_pk``: the primary keys are set already (taken from the sequence)."""
    db = connections[DEFAULT_DB_ALIAS]
    statement, fields = insert_statement(model, with_pk=with_pk, returning=returning)
    columns: list[list[object]] = [[] for _ in fields]
    for obj in objs:
        for column, field in zip(columns, fields, strict=True):
            value = field.pre_save(obj, True)
            # PostgreSQL takes these as they are (what get_db_prep_save returns for them).
            if value is not None and not (
                type(value) in _PLAIN or (type(value) is datetime and value.tzinfo is not None)
            ):
                value = field.get_db_prep_save(value, connection=db)
            column.append(value)
    return statement.ensure(), list(columns)


def insert_values_sql(
    model: type[Model], rows: Sequence[Mapping[str, object]], now: datetime
) -> tuple[str, list[object]]:
    """``insert_sql`` from rows given as database values by attname (foreign keys as ids):
    a field a row leaves out takes its default, ``auto_now``/``auto_now_add`` take ``now``."""
    statement, fields = insert_statement(model)
    columns: list[list[object]] = []
    for field in fields:
        name = field.attname
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            columns.append([now] * len(rows))
        elif field.has_default() and callable(field.default):
            columns.append([row[name] if name in row else field.get_default() for row in rows])
        else:
            default = field.get_default()
            columns.append([row.get(name, default) for row in rows])
    return statement.ensure(), columns


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    """Insert ``objs`` in one prepared statement and set their pks."""
    if not objs:
        return
    db = connections[DEFAULT_DB_ALIAS]
    sql, params = insert_sql(model, objs, returning=True)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [pk for (pk,) in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        mark_saved(obj)


def mark_saved(obj: Model) -> None:
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS


_PLAIN = frozenset({str, int, bool, Decimal, UUID})

_sequences: dict[type[Model], str] = {}


def next_id_sql(model: type[Model]) -> str:
    """An SQL expression taking the next primary key of ``model`` from its sequence, so rows
    that refer to a row not written yet can be sent in the same batch as it."""
    sequence = _sequences.get(model)
    if sequence is None:
        with connection.cursor() as c:
            c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            (sequence,) = c.fetchone()
        _sequences[model] = sequence
    return f"nextval('{sequence}')"


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

    One prepared statement: the documents (locked first, in id order) then their lines (in id
    order), as the two halves of a ``UNION ALL``. ``lock=False`` reads without locking (only
    for the test that shows the race)."""
    keys = sorted(set(keys))
    if not keys:
        return LockedDocuments({}, {})
    with connection.cursor() as cursor:
        cursor.execute(_lock_statement(lock).ensure(), key_arrays(keys))
        return locked_from_rows(cursor.fetchall())


def key_arrays(keys: Iterable[DocumentKey]) -> list[list[str]]:
    """The two array parameters of ``documents_lock_sql``: codes, then references."""
    keys = sorted(set(keys))
    return [[k[0] for k in keys], [k[1] for k in keys]]


def locked_from_rows(rows: Iterable[Sequence[object]], offset: int = 0) -> LockedDocuments:
    """``LockedDocuments`` from the rows of ``documents_lock_sql`` (its columns from
    ``offset``; rows of a caller's own first branch are skipped)."""
    document_names, line_names = _LOCK_NAMES
    width = len(document_names)
    documents: dict[DocumentKey, PartnerDocument] = {}
    lines: dict[int, list[PartnerDocumentLine]] = defaultdict(list)
    from_db_document, from_db_line = PartnerDocument.from_db, PartnerDocumentLine.from_db
    for row in rows:
        if row[offset] is not None:
            values = row[offset : offset + width]
            document = from_db_document(DEFAULT_DB_ALIAS, document_names, values)
            documents[(document.code, document.reference)] = document
        elif row[offset + width] is not None:
            line = from_db_line(DEFAULT_DB_ALIAS, line_names, row[offset + width :])
            lines[line.document_id].append(line)
    for document_lines in lines.values():
        document_lines.sort(key=lambda line: line.line)
    return LockedDocuments(documents, dict(lines))


_LOCK_NAMES = (
    [f.attname for f in PartnerDocument._meta.concrete_fields],
    [f.attname for f in PartnerDocumentLine._meta.concrete_fields],
)


def documents_lock_sql(
    *, codes: str, references: str, lock: bool = True, lead: str = ""
) -> tuple[str, str]:
    """The SQL of ``documents_lock`` as parts of a larger statement: the ``docs`` CTE and the
    ``UNION ALL`` branches that lock the documents then their lines and return them (document
    columns, then line columns, each branch's row led by ``lead``: the caller's own columns
    as typed NULLs). ``codes`` and ``references`` name the two text array parameters."""
    documents = PartnerDocument._meta
    lines = PartnerDocumentLine._meta
    d_cols = [f.column for f in documents.concrete_fields]
    l_cols = [f.column for f in lines.concrete_fields]
    null_d = ", ".join(f"NULL::{db_type(f)}" for f in documents.concrete_fields)
    null_l = ", ".join(f"NULL::{db_type(f)}" for f in lines.concrete_fields)
    for_update = " FOR UPDATE" if lock else ""
    # Each key is looked up through the unique (code, reference) index and the lines through
    # their document's, whatever the tables' size (a generic plan knows no array length).
    # Branches of a UNION ALL run in order: documents, then lines, are locked in id order, the
    # order every transaction that moves quantities takes them in.
    cte = (
        f"docs AS MATERIALIZED (SELECT {', '.join(d_cols)} FROM {documents.db_table} "  # noqa: S608
        f"WHERE id = ANY(ARRAY(SELECT (SELECT q.id FROM {documents.db_table} q "
        "WHERE q.code = k.code AND q.reference = k.reference) "
        f"FROM unnest({codes}::text[], {references}::text[]) AS k(code, reference))) "
        f"ORDER BY id{for_update})"
    )
    branches = (
        f"SELECT {lead}{', '.join(f'docs.{c}' for c in d_cols)}, {null_l} FROM docs "  # noqa: S608
        f"UNION ALL SELECT {lead}{null_d}, {', '.join(f'l.{c}' for c in l_cols)} FROM "
        f"(SELECT {', '.join(l_cols)} FROM {lines.db_table} "
        f"WHERE document_id = ANY(ARRAY(SELECT id FROM docs)) ORDER BY id{for_update}) l"
    )
    return cte, branches


@functools.cache
def _lock_statement(lock: bool) -> Prepared:
    cte, branches = documents_lock_sql(codes="$1", references="$2", lock=lock)
    return named(
        "gun_documents_lock" if lock else "gun_documents_read",
        f"WITH {cte} {branches}",
        ["text[]", "text[]"],
    )


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


def _apply_line_deltas(
    deltas: Mapping[int, tuple[Decimal, Decimal]], batch: Batch | None = None
) -> None:
    """Move ``reserved`` and ``imputed`` of many lines in one UPDATE (the CHECKs apply), now
    or as part of ``batch``."""
    rows = [(pk, r, i) for pk, (r, i) in sorted(deltas.items()) if r or i]
    if not rows:
        return
    sql = _LINE_DELTAS.ensure()
    params = [[row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]]
    if batch is not None:
        batch.add(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_LINE_DELTAS = named(
    "gun_line_deltas",
    "UPDATE gun_partnerdocumentline AS l SET reserved = l.reserved + v.r, "
    "imputed = l.imputed + v.i FROM unnest($1, $2, $3) AS v(id, r, i) WHERE l.id = v.id",
    ["bigint[]", "numeric[]", "numeric[]"],
)
_TAKE_SINGLE_USE = named(
    "gun_take_single_use",
    "UPDATE gun_partnerdocument SET used_by_id = $1, used_state = 'reserved' "
    "WHERE id = ANY($2) AND (used_by_id IS NULL OR used_by_id = $1)",
    ["uuid", "bigint[]"],
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


def _entry_state(partner: str, remote: set[str], now: datetime | None = None) -> dict:
    """Local partners are the portal itself: the movement is delivered as it is written."""
    if partner in remote:
        return {"state": PropagationState.PENDING.value, "sent_at": None}
    return {"state": PropagationState.SENT.value, "sent_at": now or timezone.now()}


def ledger_reserve(
    *,
    declaration: Declaration,
    movements: list[Movement],
    who: str,
    operation: str,
    remote_partners: set[str],
    first: bool = False,
    batch: Batch | None = None,
) -> list[LedgerEntry]:
    """Write one reserve entry per movement and move the balances (GUN_RULES §5).

    ``first``: the declaration holds nothing yet (a validation: only a validated declaration
    ever holds reservations), so its ``Reservation`` rows are inserted from the movements
    instead of being rebuilt from the ledger; a row already there is refused by the database
    (unique per declaration and line).

    ``batch`` (with ``first``): the writes join the caller's batch, sent with its other
    statements in one round trip, and only the entries of remote partners are returned (what
    propagation needs; without primary key). Without it they are sent now, in one round trip
    too. Either way a single-use document held by another declaration raises
    ``GunConflict("document_taken")`` and rolls the transaction back."""
    now = timezone.now()
    rows = [
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
    if first and batch is not None:
        # Rows as values: no model instance for what only the database needs.
        if rows:
            batch.add(*insert_values_sql(LedgerEntry, rows, now))
        entries = [LedgerEntry(**row, at=now) for row in rows if row["partner"] in remote_partners]
    else:
        entries = [LedgerEntry(**row, at=now) for row in rows]
        insert_rows(LedgerEntry, entries)
    own = batch is None
    batch = Batch() if batch is None else batch
    deltas: dict[int, tuple[Decimal, Decimal]] = {}
    for m in movements:
        if m.line_id is not None:
            r, i = deltas.get(m.line_id, (ZERO, ZERO))
            deltas[m.line_id] = (r + m.quantity, i)
    _apply_line_deltas(deltas, batch)
    single_use = sorted({m.document_id for m in movements if m.single_use and m.document_id})
    taken = None
    if single_use:
        batch.add(_TAKE_SINGLE_USE.ensure(), [declaration.pk, single_use])
        taken = batch.check(
            "(SELECT count(*) FROM gun_partnerdocument WHERE id = ANY(%s) AND used_by_id = %s)",
            [single_use, declaration.pk],
        )
    if first:
        reservations = [
            {"declaration_id": declaration.pk, "line_id": line_id, "quantity": reserved}
            for line_id, (reserved, _imputed) in sorted(deltas.items())
            if reserved > 0
        ]
        if reservations:
            batch.add(*insert_values_sql(Reservation, reservations, now))
    if taken is not None:
        batch.after.append(lambda answer: document_taken_check(answer[taken], len(single_use)))
    if own:
        batch.run()
    if not first:
        _sync_reservations(declaration)
    return entries


def document_taken_check(taken: int, wanted: int) -> None:
    if taken != wanted:
        from gun.services.errors import GunConflict

        raise GunConflict("document_taken", "A single-use document is held by another.")


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
