"""The GUN's hand-written SQL, all of it: the validation's hot path (docs/gun.md, "Cost of a
validation"), and the generic tools it is built with.

Every other use case (register, replace, rectify, cancel, release, publication) is plain ORM
code. A validation goes through a *store* with three named operations:

- ``lock``: the declaration row ``FOR UPDATE`` with its post, the next MRN serial and the id of
  the run about to be recorded, then the partner documents it names and their lines, each
  locked in id order (one round trip, with the lock time-out);
- ``lock_documents``: the same for documents alone (a replacement committed between the read
  and the lock named others);
- ``write``: the run and its messages, the ledger entries, the balances, the single-use
  documents taken, the reservations, the control and the declaration's conditional update, and
  whether a consignment links the declaration (one round trip).

``PreparedStore`` (the default) sends them as server-side prepared statements
(``sesame.prepared``) in five round trips per validation; ``OrmStore`` does the same with the
ORM (no prepared statement: behind a pooler in transaction mode, ``GUN_VALIDATION_STORE=orm``).
``tests/gun/test_store_twin.py`` runs the same validations through both and compares every row
written. Tables, columns and status values come from the models; a misspelled column raises.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections
from django.db.models import F, Model
from django.utils.module_loading import import_string

from gun import ledger
from gun.engine import DocumentKey
from gun.errors import GunConflict, StatusConflict
from gun.ledger import LockedDocuments, ReservationWrites
from gun.models import (
    Control,
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    GunMessage,
    GunRun,
    ItemDocument,
    LedgerEntry,
    PartnerDocument,
    PartnerDocumentLine,
    Reservation,
)
from sesame.models import BorderControlPost
from sesame.prepared import Prepared, db_type, insert_statement, named

LOCK_TIMEOUT_MS = 2000
LOCK_TIMEOUT_SQL = f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"
MRN_SEQUENCE = "gun_mrn_serial"  # gun/migrations/0002_mrn_serial_sequence.py

# =============================================================================================
# Generic tools
# =============================================================================================


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
            cursor.execute("; ".join(sql), [*self.params, *self.check_params])  # type: ignore[list-item]
            return tuple(cursor.fetchone()) if self.checks else ()


_PLAIN = frozenset({str, int, bool, Decimal, UUID})


def insert_sql(
    model: type[Model], objs: Sequence[Model], *, with_pk: bool = False
) -> tuple[str, list[object]]:
    """A prepared ``INSERT`` of ``objs`` (``sesame.prepared.insert_statement``: one array per
    column, one shape for any number of rows): ``auto_now_add`` filled, values prepared by
    their fields, database triggers fire; what ``bulk_create`` sends, without compiling a query
    nor planning it. ``with_pk``: the primary keys are set already (taken from the sequence)."""
    db = connections[DEFAULT_DB_ALIAS]
    statement, fields = insert_statement(model, with_pk=with_pk)
    columns: list[list[object]] = [[] for _ in fields]
    for obj in objs:
        for column, model_field in zip(columns, fields, strict=True):
            value = model_field.pre_save(obj, True)
            # PostgreSQL takes these as they are (what get_db_prep_save returns for them).
            if value is not None and not (
                type(value) in _PLAIN or (type(value) is datetime and value.tzinfo is not None)
            ):
                value = model_field.get_db_prep_save(value, connection=db)
            column.append(value)
    return statement.ensure(), list(columns)


def insert_values_sql(
    model: type[Model], rows: Sequence[Mapping[str, object]], now: datetime
) -> tuple[str, list[Any]]:
    """``insert_sql`` from rows given as database values by attname (foreign keys as ids):
    a field a row leaves out takes its default, ``auto_now``/``auto_now_add`` take ``now``.
    A key that names no column raises ``ValueError`` (a misspelling never writes a default)."""
    statement, fields = insert_statement(model)
    known = {f.attname for f in fields}
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise ValueError(f"no column {sorted(unknown)} in {model._meta.label}")
    columns: list[list[object]] = []
    for model_field in fields:
        name = model_field.attname
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            columns.append([now] * len(rows))
        elif model_field.has_default() and callable(model_field.default):
            columns.append(
                [row[name] if name in row else model_field.get_default() for row in rows]
            )
        else:
            default = model_field.get_default()
            columns.append([row.get(name, default) for row in rows])
    return statement.ensure(), columns


def mark_saved(obj: Model) -> None:
    """``obj`` was written by hand: the ORM now treats it as a saved row."""
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS


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


def constraint_name(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says was violated (psycopg2's diagnostics)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


# =============================================================================================
# What a validation locks, reads and writes
# =============================================================================================


@dataclass
class ValidationLock:
    """What ``lock`` returns: the declaration as locked (None: gone), the MRN serial, the
    run's id taken beforehand (None: the store assigns it on write), and the documents."""

    declaration: Declaration | None
    mrn_serial: int
    run_id: int | None
    documents: LockedDocuments


@dataclass
class ValidationWrite:
    """Everything one validation writes; ``changes`` are the declaration's new values, written
    only if it is still anticipated (``StatusConflict`` otherwise)."""

    declaration: Declaration
    run: GunRun
    messages: list[GunMessage]
    changes: dict[str, Any]
    reservations: ReservationWrites | None = None
    control: bool = False
    links_sql: tuple[str, list[Any]] = ("false", [])


class ValidationStore(Protocol):
    def lock(self, pk: Any, keys: set[DocumentKey]) -> ValidationLock: ...

    def lock_documents(self, keys: Iterable[DocumentKey]) -> LockedDocuments: ...

    def write(self, write: ValidationWrite) -> bool | None:
        """Write everything; whether a consignment links the declaration (None: unknown)."""
        ...


@functools.cache
def _store(path: str) -> ValidationStore:
    return import_string(path)()


STORES = {"prepared": "gun.sql.PreparedStore", "orm": "gun.sql.OrmStore"}


def validation_store() -> ValidationStore:
    """The store named by the setting ``GUN_VALIDATION_STORE`` (``prepared``, ``orm`` or a
    dotted path)."""
    name = settings.GUN_VALIDATION_STORE
    return _store(STORES.get(name, name))


def _status_conflict(pk: Any) -> None:
    status = Declaration.objects.filter(pk=pk).values_list("status", flat=True).first()
    raise StatusConflict(status or DeclarationStatus.ANTICIPATED, "changed concurrently")


def _document_taken() -> None:
    raise GunConflict("document_taken", "A single-use document is held by another.")


# =============================================================================================
# The prepared store
# =============================================================================================

_DECLARATION_FIELDS = Declaration._meta.concrete_fields
DECLARATION_NAMES = [f.attname for f in _DECLARATION_FIELDS]
_POST_FIELDS = BorderControlPost._meta.concrete_fields
_POST_NAMES = [f.attname for f in _POST_FIELDS]
_DOCUMENT_NAMES = [f.attname for f in PartnerDocument._meta.concrete_fields]
_LINE_NAMES = [f.attname for f in PartnerDocumentLine._meta.concrete_fields]


def _documents_lock_sql(
    *, codes: str, references: str, lock: bool = True, lead: str = ""
) -> tuple[str, str]:
    """The ``docs`` CTE and the ``UNION ALL`` branches that lock the documents named by two
    text arrays (``codes``, ``references``) then their lines, and return them (document
    columns, then line columns, each branch's row led by ``lead``: the caller's own columns as
    typed NULLs)."""
    documents = PartnerDocument._meta
    lines = PartnerDocumentLine._meta
    d_cols = [str(f.column) for f in documents.concrete_fields]
    l_cols = [str(f.column) for f in lines.concrete_fields]
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


def _key_arrays(keys: Iterable[DocumentKey]) -> list[list[str]]:
    ordered = sorted(set(keys))
    return [[k[0] for k in ordered], [k[1] for k in ordered]]


def _locked_from_rows(rows: Iterable[Sequence[object]], offset: int = 0) -> LockedDocuments:
    width = len(_DOCUMENT_NAMES)
    documents: dict[DocumentKey, PartnerDocument] = {}
    lines: dict[int, list[PartnerDocumentLine]] = defaultdict(list)
    for row in rows:
        if row[offset] is not None:
            values = row[offset : offset + width]
            document = PartnerDocument.from_db(DEFAULT_DB_ALIAS, _DOCUMENT_NAMES, values)
            documents[(document.code, document.reference)] = document
        elif row[offset + width] is not None:
            values = row[offset + width :]
            line = PartnerDocumentLine.from_db(DEFAULT_DB_ALIAS, _LINE_NAMES, values)
            lines[line.document_id].append(line)
    for document_lines in lines.values():
        document_lines.sort(key=lambda line: line.line)
    return LockedDocuments(documents, dict(lines))


@functools.cache
def _documents_statement(lock: bool) -> Prepared:
    cte, branches = _documents_lock_sql(codes="$1", references="$2", lock=lock)
    return named(
        "gun_documents_lock" if lock else "gun_documents_read",
        f"WITH {cte} {branches}",
        ["text[]", "text[]"],
    )


@functools.cache
def _validation_lock_statement(lock: bool) -> Prepared:
    declaration_columns = ", ".join(f"x.{f.column}" for f in _DECLARATION_FIELDS)
    post_columns = ", ".join(f"p.{f.column} AS post_{f.column}" for f in _POST_FIELDS)
    head_nulls = (
        "".join(f"NULL::{db_type(f)}, " for f in (*_DECLARATION_FIELDS, *_POST_FIELDS))
        + "NULL::bigint, NULL::bigint, "
    )
    documents_nulls = ", ".join(
        f"NULL::{db_type(f)}"
        for f in (
            *PartnerDocument._meta.concrete_fields,
            *PartnerDocumentLine._meta.concrete_fields,
        )
    )
    documents_cte, documents_branches = _documents_lock_sql(
        codes="$2", references="$3", lock=lock, lead=head_nulls
    )
    body = (
        f"WITH head AS MATERIALIZED (SELECT {declaration_columns}, {post_columns}, "  # noqa: S608
        f"nextval('{MRN_SEQUENCE}') AS mrn_serial, {next_id_sql(GunRun)} AS run_id "
        f"FROM {Declaration._meta.db_table} x "
        f"LEFT JOIN {BorderControlPost._meta.db_table} p ON p.id = x.post_id "
        f"WHERE x.id = $1 FOR UPDATE OF x), {documents_cte} "
        # The branches run in order: the declaration is locked first, then its documents.
        f"SELECT head.*, {documents_nulls} FROM head UNION ALL {documents_branches}"
    )
    return named(
        "gun_validation_lock" if lock else "gun_validation_read",
        body,
        ["uuid", "text[]", "text[]"],
    )


@functools.cache
def _declaration_update_statement(names: tuple[str, ...]) -> Prepared:
    meta = Declaration._meta
    fields = [meta.get_field(name) for name in names]
    sets = ", ".join(f'"{f.column}" = ${n}' for n, f in enumerate(fields, start=1))  # type: ignore[union-attr]
    body = (
        f'UPDATE "{meta.db_table}" SET version = version + 1, {sets} '  # noqa: S608
        f"WHERE id = ${len(fields) + 1} AND status = ${len(fields) + 2}"
    )
    types = [*(db_type(f) for f in fields), "uuid", "text"]  # type: ignore[arg-type]
    return named("gun_declaration_bump", body, types)


_LINE_DELTAS = named(
    "gun_line_deltas",
    f"UPDATE {PartnerDocumentLine._meta.db_table} AS l SET reserved = l.reserved + v.r "  # noqa: S608
    "FROM unnest($1, $2) AS v(id, r) WHERE l.id = v.id",
    ["bigint[]", "numeric[]"],
)
_TAKE_SINGLE_USE = named(
    "gun_take_single_use",
    f"UPDATE {PartnerDocument._meta.db_table} SET used_by_id = $1, used_state = $3 "  # noqa: S608
    "WHERE id = ANY($2) AND (used_by_id IS NULL OR used_by_id = $1)",
    ["uuid", "bigint[]", "text"],
)


class PreparedStore:
    """The validation's hot path in prepared statements: ``lock`` and ``write`` are one round
    trip each, whatever the number of items and documents."""

    lock_rows = True  # False only to show, in a test, the race the locks prevent

    def lock(self, pk: Any, keys: set[DocumentKey]) -> ValidationLock:
        statement = _validation_lock_statement(self.lock_rows)
        with connection.cursor() as cursor:
            cursor.execute(f"{LOCK_TIMEOUT_SQL}; {statement.ensure()}", [pk, *_key_arrays(keys)])
            rows = cursor.fetchall()
        width = len(DECLARATION_NAMES) + len(_POST_NAMES) + 2
        documents = _locked_from_rows(rows, offset=width)
        head = next((row for row in rows if row[0] is not None), None)
        if head is None:
            return ValidationLock(None, 0, None, documents)
        size = len(DECLARATION_NAMES)
        current = Declaration.from_db(DEFAULT_DB_ALIAS, DECLARATION_NAMES, head[:size])
        post = head[size : size + len(_POST_NAMES)]
        current.post = (
            None
            if current.post_id is None
            else BorderControlPost.from_db(DEFAULT_DB_ALIAS, _POST_NAMES, post)
        )
        return ValidationLock(current, head[width - 2], head[width - 1], documents)

    def lock_documents(self, keys: Iterable[DocumentKey]) -> LockedDocuments:
        keys = set(keys)
        if not keys:
            return LockedDocuments({}, {})
        with connection.cursor() as cursor:
            cursor.execute(_documents_statement(self.lock_rows).ensure(), _key_arrays(keys))
            return _locked_from_rows(cursor.fetchall())

    def write(self, write: ValidationWrite) -> bool | None:
        declaration, run = write.declaration, write.run
        if run.pk is None:
            raise ValueError("a batched run needs its id, taken by lock")
        batch = Batch()
        batch.add(*insert_sql(GunRun, [run], with_pk=True))
        mark_saved(run)
        if write.messages:
            batch.add(*insert_sql(GunMessage, write.messages))
        taken = None
        plan = write.reservations
        if plan is not None:
            if plan.entries:
                batch.add(*insert_values_sql(LedgerEntry, plan.entries, plan.now))
            deltas = sorted((pk, r) for pk, r in plan.line_deltas.items() if r)
            if deltas:
                batch.add(_LINE_DELTAS.ensure(), [[pk for pk, _ in deltas], [r for _, r in deltas]])
            if plan.single_use:
                batch.add(
                    _TAKE_SINGLE_USE.ensure(),
                    [declaration.pk, plan.single_use, ledger.USED_RESERVED],
                )
                taken = batch.check(
                    f"(SELECT count(*) FROM {PartnerDocument._meta.db_table} "  # noqa: S608
                    "WHERE id = ANY(%s) AND used_by_id = %s)",
                    [plan.single_use, declaration.pk],
                )
            if plan.reservations:
                batch.add(*insert_values_sql(Reservation, plan.reservations, plan.now))
        if write.control:
            batch.add(*insert_sql(Control, [Control(declaration=declaration, run=run)]))
        # The declaration's conditional update (audit trigger as for .update()).
        meta = Declaration._meta
        params = []
        for name, value in write.changes.items():
            model_field = meta.get_field(name)
            if model_field.is_relation and isinstance(value, Model):
                value = value.pk
            params.append(model_field.get_db_prep_save(value, connection=connection))  # type: ignore[union-attr]
        update = _declaration_update_statement(tuple(write.changes)).ensure()
        batch.add(update, [*params, declaration.pk, DeclarationStatus.ANTICIPATED.value])
        version = batch.check(
            f"(SELECT version FROM {meta.db_table} WHERE id = %s)",  # noqa: S608
            [declaration.pk],
        )
        linked = batch.check(*write.links_sql)
        answer = batch.run()
        if answer[version] != declaration.version + 1:
            _status_conflict(declaration.pk)
        if taken is not None and plan is not None and answer[taken] != len(plan.single_use):
            _document_taken()
        return bool(answer[linked])


# =============================================================================================
# The ORM store: the same operations with the ORM (``gun.ledger``), as a reference and a fallback
# =============================================================================================


class OrmStore:
    """The validation with the ORM: the same locks in the same order and the same rows."""

    def lock(self, pk: Any, keys: set[DocumentKey]) -> ValidationLock:
        with connection.cursor() as cursor:
            cursor.execute(LOCK_TIMEOUT_SQL)
        current = (
            Declaration.objects.select_for_update(of=("self",))
            .select_related("post")
            .filter(pk=pk)
            .first()
        )
        if current is None:
            return ValidationLock(None, 0, None, LockedDocuments({}, {}))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{MRN_SEQUENCE}')")
            (serial,) = cursor.fetchone()
        return ValidationLock(current, serial, None, ledger.documents_lock(keys))

    def lock_documents(self, keys: Iterable[DocumentKey]) -> LockedDocuments:
        return ledger.documents_lock(keys)

    def write(self, write: ValidationWrite) -> bool | None:
        declaration, run = write.declaration, write.run
        run.save(force_insert=True)
        GunMessage.objects.bulk_create(write.messages)
        plan = write.reservations
        if plan is not None:
            LedgerEntry.objects.bulk_create(
                [LedgerEntry(**row, at=plan.now) for row in plan.entries]
            )
            ledger.move_lines({pk: (r, ledger.ZERO) for pk, r in plan.line_deltas.items()})
            ledger.take_single_use(declaration, plan.single_use)
            Reservation.objects.bulk_create(Reservation(**row) for row in plan.reservations)
        if write.control:
            Control.objects.create(declaration=declaration, run=run)
        updated = Declaration.objects.filter(
            pk=declaration.pk, status=DeclarationStatus.ANTICIPATED
        ).update(version=F("version") + 1, **write.changes)
        if updated != 1:
            _status_conflict(declaration.pk)
        return None  # tracking asks itself


# =============================================================================================
# Reads before the lock
# =============================================================================================

CONTENT_ORDER = "ORDER BY i.item_number, i.id, d.position, d.id"


def content_columns(item_columns: Sequence[str], document_columns: Sequence[str]) -> str:
    return ", ".join(
        [f"i.{DeclarationItem._meta.get_field(f).column}" for f in item_columns]  # type: ignore[union-attr]
        + ["d.id"]
        + [f"d.{ItemDocument._meta.get_field(f).column}" for f in document_columns]  # type: ignore[union-attr]
    )


def read_content_rows(
    declaration_id: Any, item_columns: Sequence[str], document_columns: Sequence[str]
) -> list[tuple]:
    """Rows of the declaration's items LEFT JOIN their documents, in item then document
    order: one query."""
    sql = (
        f"SELECT {content_columns(item_columns, document_columns)} "  # noqa: S608
        f"FROM {DeclarationItem._meta.db_table} i "
        f"LEFT JOIN {ItemDocument._meta.db_table} d ON d.item_id = i.id "
        f"WHERE i.declaration_id = %s {CONTENT_ORDER}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [declaration_id])
        return cursor.fetchall()


@functools.cache
def _with_content_statement(
    item_columns: tuple[str, ...], document_columns: tuple[str, ...]
) -> Prepared:
    declaration_columns = ", ".join(f"x.{f.column}" for f in _DECLARATION_FIELDS)
    body = (
        f"SELECT {declaration_columns}, {content_columns(item_columns, document_columns)} "  # noqa: S608
        f"FROM {Declaration._meta.db_table} x "
        f"LEFT JOIN {DeclarationItem._meta.db_table} i ON i.declaration_id = x.id "
        f"LEFT JOIN {ItemDocument._meta.db_table} d ON d.item_id = i.id "
        f"WHERE x.id = $1 AND x.company_id = $2 {CONTENT_ORDER}"
    )
    return named("gun_declaration_content", body, ["uuid", "bigint"])


def read_with_content(
    pk: Any, company_id: Any, item_columns: Sequence[str], document_columns: Sequence[str]
) -> tuple[Declaration | None, list[tuple]]:
    """The declaration row of the company (None when absent or another company's) and the rows
    of its content, in one prepared statement: what a validation reads before any lock."""
    statement = _with_content_statement(tuple(item_columns), tuple(document_columns))
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure(), [pk, company_id])
        rows = cursor.fetchall()
    if not rows:
        return None, []
    width = len(DECLARATION_NAMES)
    declaration = Declaration.from_db(DEFAULT_DB_ALIAS, DECLARATION_NAMES, rows[0][:width])
    return declaration, [row[width:] for row in rows if row[width] is not None]


BALANCE_CONSTRAINTS = frozenset(
    c.name
    for model in (PartnerDocumentLine, Reservation)
    for c in model._meta.constraints
    if c.name not in ("gun_partner_line_unique",)
)
"""The constraints of the balances (GUN_RULES §5): refused by the database as a last line of
defence, they mean the balance does not cover a movement."""
