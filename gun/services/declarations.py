"""Declaration use cases: register, replace, validate, rectify, cancel, release (GUN_RULES §1-§5).

Each function is one transaction. Those that move quantities lock, in this order, the
declaration row, then the partner documents, then their lines (each in primary-key order),
under ``lock_timeout``; a lock that cannot be had is retried a few times, then ``GunBusy``.
Tracking events are recorded inside the transaction; propagation to remote partners is
enqueued after commit.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from gun import ledger, tracking_link
from gun.engine import DocumentKey, make_mrn
from gun.models import (
    Control,
    ControlStatus,
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    GunMessage,
    GunRun,
    ItemDocument,
    LedgerEntry,
    LedgerPhase,
    PartnerDocument,
    PartnerDocumentLine,
)
from gun.selectors import DECLARATION_NAMES, declaration_content
from gun.services.errors import GunBusy, GunConflict, StatusConflict
from gun.services.runs import (
    GunCheck,
    PartnerLookup,
    check_modes,
    engine_declaration_from_content,
    engine_declaration_from_data,
    gun_check,
    messages_payload,
    run_record,
)
from gun.signals import declaration_changed
from sesame.models import BorderControlPost
from sesame.prepared import Prepared, db_type, named

LOCK_TIMEOUT_MS = 2000
LOCK_ATTEMPTS = 4
RETRYABLE_SQLSTATES = {"55P03", "40P01"}  # lock_not_available, deadlock_detected
LOCK_TIMEOUT_SQL = f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"

T = TypeVar("T")


@dataclass(frozen=True)
class GunResult:
    """What a GUN-running service returns: the declaration and the run it just recorded.

    ``content`` (items with documents, as ``selectors.declaration_content``) and ``messages``
    (the run's messages, in order) are set when the service already holds them, so the caller
    can answer without reading the declaration again."""

    declaration: Declaration
    run: GunRun
    content: list[dict[str, Any]] | None = None
    messages: list[GunMessage] | None = None

    @property
    def rejected(self) -> bool:
        return self.run.outcome == "rejected"


def who(by: Any) -> str:
    """A readable actor label: a user's email, an API key's owner, or the string given."""
    if by is None:
        return ""
    if isinstance(by, str):
        return by[:200]
    email = getattr(by, "email", None)
    if email:
        return str(email)[:200]
    return str(by)[:200]


def _locked(fn: Callable[[], T], *, set_timeout: bool = True) -> T:
    """Run ``fn`` in a transaction with a lock time-out; retry on lock time-out or deadlock.

    ``set_timeout=False``: ``fn`` sends ``LOCK_TIMEOUT_SQL`` itself with its first statement
    (one round trip less)."""
    for attempt in range(LOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                if set_timeout:
                    with connection.cursor() as cursor:
                        cursor.execute(LOCK_TIMEOUT_SQL)
                return fn()
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) not in RETRYABLE_SQLSTATES:
                raise
            time.sleep(0.05 * (2**attempt) * (0.5 + random.random()))  # noqa: S311
        except IntegrityError as exc:
            if "gun_line_" in str(exc) or "gun_reservation_" in str(exc):
                # GUN_RULES §5: the database refused a balance the locks should have protected.
                raise GunConflict(
                    "balance_exceeded", "The document's balance does not cover this."
                ) from exc
            raise
    raise GunBusy()


def _lock_declaration(pk: Any) -> Declaration:
    return (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("company", "post")
        .get(pk=pk)
    )


def _store_items(declaration: Declaration, data: Mapping[str, Any]) -> None:
    """Replace the declaration's items and documents (three queries whatever their number)."""
    declaration.items.all().delete()
    items = DeclarationItem.objects.bulk_create(
        DeclarationItem(
            declaration=declaration,
            item_number=item["item_number"],
            commodity_code=item["commodity_code"],
            origin_country=item["origin_country"],
            net_mass_kg=item["net_mass_kg"],
        )
        for item in data["items"]
    )
    documents = []
    for row, item in zip(items, data["items"], strict=True):
        for position, document in enumerate(item.get("documents", [])):
            sheet = document.get("imputation")
            values = {f"imputation_{k}": v for k, v in (sheet or {}).items()}
            if "imputation_line" in values:
                values["imputation_line_number"] = values.pop("imputation_line")
            documents.append(
                ItemDocument(
                    item=row,
                    position=position,
                    code=document["code"],
                    reference=document["reference"],
                    date=document.get("date"),
                    has_imputation=sheet is not None,
                    **values,
                )
            )
    ItemDocument.objects.bulk_create(documents)


def _apply_header(declaration: Declaration, data: Mapping[str, Any]) -> None:
    declaration.client_reference = data["client_reference"]
    declaration.importer_eori = data["importer_eori"]
    declaration.special_mentions = list(data.get("special_mentions") or [])
    declaration.post = data.get("post")


def _event(
    declaration: Declaration,
    kind: str,
    run: GunRun | None,
    payload: dict | Callable[[], dict],
    linked: bool | None = None,
) -> None:
    """Record ``kind`` on the linked consignments; ``linked=False`` (learned in the batch):
    nothing to do, and the payload is not even built."""
    if linked is False:
        return
    suffix = f"run-{run.pk}" if run is not None else f"v{declaration.version}"
    tracking_link.declaration_event(
        declaration=declaration,
        kind=kind,
        source_event_id=f"gun:{declaration.pk}:{suffix}:{kind}",
        payload=payload() if callable(payload) else payload,
        linked=linked,
    )


def _run_payload(declaration: Declaration, check: GunCheck) -> dict:
    return {
        "declaration_id": str(declaration.pk),
        "client_reference": declaration.client_reference,
        "mrn": declaration.mrn,
        "stage": check.outcome.stage,
        "outcome": check.outcome.outcome,
        "control_required": check.outcome.control_required,
        "messages": messages_payload(check),
    }


def _propagate_after_commit(entries: list[LedgerEntry], remote: set[str]) -> None:
    """Enqueue delivery to remote partners once committed; held entries wait for the sweep."""
    partners = sorted({e.partner for e in entries if e.partner in remote and not e.held})
    if not partners:
        return
    from gun.tasks import propagate_partner

    for partner in partners:
        transaction.on_commit(lambda p=partner: propagate_partner.delay(p))


def _plan(
    engine_declaration: Any,
    current: Declaration,
    locked: ledger.LockedDocuments,
    lookup: PartnerLookup,
    *,
    own: dict,
) -> list[ledger.Movement]:
    """What the accepted run reserves, from what the checks learned through ``lookup``."""
    return ledger.plan_reservations(
        declaration=engine_declaration,
        declaration_id=current.pk,
        locked=locked,
        local_partners=lookup.local_partners,
        unknown=lookup.unknown,
        unavailable_partners=lookup.unavailable,
        own=own,
    )


def _validation_lock(
    pk: Any, keys: set[DocumentKey], *, lock: bool = True
) -> tuple[Declaration | None, int, int, ledger.LockedDocuments]:
    """One round trip: the lock time-out, then the declaration row ``FOR UPDATE`` with its
    post, a fresh MRN serial (a rejected run leaves a gap in the serials, as a rolled-back
    transaction does) and the id of the run about to be recorded; then the partner documents
    named by ``keys`` and their lines, locked in id order after the declaration, as
    ``ledger.documents_lock`` does (``lock=False``: read without locking them, only for the
    test that shows the race)."""
    statement = _validation_lock_statement(lock)
    with connection.cursor() as cursor:
        cursor.execute(f"{LOCK_TIMEOUT_SQL}; {statement.ensure()}", [pk, *ledger.key_arrays(keys)])
        rows = cursor.fetchall()
    width = len(DECLARATION_NAMES) + len(_POST_NAMES) + 2
    locked = ledger.locked_from_rows(rows, offset=width)
    head = next((row for row in rows if row[0] is not None), None)
    if head is None:
        return None, 0, 0, locked
    declaration_width = len(DECLARATION_NAMES)
    current = Declaration.from_db(DEFAULT_DB_ALIAS, DECLARATION_NAMES, head[:declaration_width])
    post = head[declaration_width : declaration_width + len(_POST_NAMES)]
    current.post = (
        None
        if current.post_id is None
        else BorderControlPost.from_db(DEFAULT_DB_ALIAS, _POST_NAMES, post)
    )
    return current, head[width - 2], head[width - 1], locked


_POST_FIELDS = BorderControlPost._meta.concrete_fields
_POST_NAMES = [f.attname for f in _POST_FIELDS]


@functools.cache
def _validation_lock_statement(lock: bool) -> Prepared:
    declaration_fields = Declaration._meta.concrete_fields
    declaration_columns = ", ".join(f"x.{f.column}" for f in declaration_fields)
    post_columns = ", ".join(f"p.{f.column} AS post_{f.column}" for f in _POST_FIELDS)
    head_nulls = (
        "".join(f"NULL::{db_type(f)}, " for f in (*declaration_fields, *_POST_FIELDS))
        + "NULL::bigint, NULL::bigint, "
    )
    documents_nulls = ", ".join(
        f"NULL::{db_type(f)}"
        for f in (
            *PartnerDocument._meta.concrete_fields,
            *PartnerDocumentLine._meta.concrete_fields,
        )
    )
    documents_cte, documents_branches = ledger.documents_lock_sql(
        codes="$2", references="$3", lock=lock, lead=head_nulls
    )
    body = (
        f"WITH head AS MATERIALIZED (SELECT {declaration_columns}, {post_columns}, "  # noqa: S608
        f"nextval('gun_mrn_serial') AS mrn_serial, {ledger.next_id_sql(GunRun)} AS run_id "
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


def _bump(
    declaration: Declaration,
    *,
    old_status: str,
    batch: ledger.Batch | None = None,
    **changes: Any,
) -> None:
    """Conditional update: the declaration must still be in ``old_status``, else 409.

    ``batch``: the update joins the caller's batch; the declaration (already changed in
    memory) is checked once the batch is sent."""
    changes.setdefault("updated_at", timezone.now())
    # One prepared UPDATE per set of fields (no query compilation nor planning); the audit
    # trigger fires as for .update().
    meta = Declaration._meta
    params = []
    for name, value in changes.items():
        field = meta.get_field(name)
        if field.is_relation and isinstance(value, Model):
            value = value.pk
        params.append(field.get_db_prep_save(value, connection=connection))
    sql = _bump_statement(tuple(changes)).ensure()
    params += [declaration.pk, old_status]

    def conflict() -> None:
        current = Declaration.objects.filter(pk=declaration.pk).values_list("status", flat=True)
        raise StatusConflict(next(iter(current), old_status), "changed concurrently")

    if batch is not None:
        batch.add(sql, params)
        version_sql = f"(SELECT version FROM {meta.db_table} WHERE id = %s)"  # noqa: S608
        index = batch.check(version_sql, [declaration.pk])
        expected = declaration.version + 1
        batch.after.append(lambda answer: None if answer[index] == expected else conflict())
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            updated = cursor.rowcount
        if updated != 1:
            conflict()
    for name, value in changes.items():
        setattr(declaration, name, value)
    declaration.version += 1


@functools.cache
def _bump_statement(names: tuple[str, ...]) -> Prepared:
    meta = Declaration._meta
    fields = [meta.get_field(name) for name in names]
    sets = ", ".join(f'"{f.column}" = ${n}' for n, f in enumerate(fields, start=1))
    body = (
        f'UPDATE "{meta.db_table}" SET version = version + 1, {sets} '  # noqa: S608
        f"WHERE id = ${len(fields) + 1} AND status = ${len(fields) + 2}"
    )
    return named("gun_declaration_bump", body, [*(db_type(f) for f in fields), "uuid", "text"])


# --- anticipation ----------------------------------------------------------------------------


def declaration_register(*, company: Any, data: Mapping[str, Any], by: Any) -> GunResult:
    """Register an anticipated declaration and run the anticipation checks (informative: the
    declaration is registered whatever the messages). One transaction: declaration, items,
    run, and the ``declaration_lodged`` tracking event."""
    engine_declaration = engine_declaration_from_data(data)
    lookup = PartnerLookup.for_declaration(engine_declaration, None)
    lookup.prefetch_remote(engine_declaration)
    with transaction.atomic():
        declaration = Declaration(company=company, lodged_by=who(by))
        _apply_header(declaration, data)
        declaration.save()
        _store_items(declaration, data)
        check = gun_check(declaration=engine_declaration, lookup=lookup, stage="anticipation")
        run = run_record(declaration=declaration, check=check, by=who(by))
        declaration.save(update_fields=["last_run"])
        _event(declaration, "declaration_lodged", run, _run_payload(declaration, check))
        declaration_changed.send(Declaration, declaration=declaration, action="anticipated")
    return GunResult(declaration, run)


def declaration_replace(*, declaration: Declaration, data: Mapping[str, Any], by: Any) -> GunResult:
    """Replace an anticipated declaration's content and run anticipation again.

    409 ``status_<status>`` unless anticipated. Nothing is reserved, so no document is locked.
    """
    engine_declaration = engine_declaration_from_data(data)
    lookup = PartnerLookup.for_declaration(engine_declaration, declaration.pk)
    lookup.prefetch_remote(engine_declaration)
    with transaction.atomic():
        locked = _lock_declaration(declaration.pk)
        if locked.status != DeclarationStatus.ANTICIPATED:
            raise StatusConflict(locked.status, "replaced")
        _apply_header(locked, data)
        locked.version += 1
        locked.save()
        _store_items(locked, data)
        check = gun_check(declaration=engine_declaration, lookup=lookup, stage="anticipation")
        run = run_record(declaration=locked, check=check, by=who(by))
        locked.save(update_fields=["last_run"])
        _event(locked, "declaration_lodged", run, _run_payload(locked, check))
        declaration_changed.send(Declaration, declaration=locked, action="replaced")
    return GunResult(locked, run)


# --- validation -------------------------------------------------------------------------------


def declaration_validate(
    *,
    declaration: Declaration,
    by: Any,
    content: list[dict[str, Any]] | None = None,
    lock: bool = True,
    after_check: Callable[[], None] | None = None,
) -> GunResult:
    """Run the validation checks; when accepted (with or without control, GUN_RULES §4) reserve
    the documents (§5) and assign a unique MRN, all in one transaction.

    Guarantees: quantities are checked under the documents' locks, so of two validations racing
    for the last kilograms exactly one wins and the other is rejected with F033; balances never
    go negative nor above the initial quantity (database CHECKs). A rejected run leaves the
    declaration anticipated with its run recorded. 409 ``status_<status>`` unless anticipated;
    409 ``busy`` when the documents stay locked.

    ``content``: the declaration's items as ``selectors.declaration_content``, when the caller
    read them with the row (``selectors.declaration_with_content``). The transaction costs four
    round trips whatever the number of items and documents: the declaration's lock (with the
    lock time-out, the MRN serial and the run's id), the documents' lock, one batch of every
    write (run, messages, ledger entries, balances, reservations, control, declaration, and
    whether a consignment links the declaration), and the commit.

    ``lock=False`` and ``after_check`` exist only for the test proving the race without locks.
    """
    # The content is read once, before any lock (remote partners are asked now, GUN_RULES §6),
    # and reused under the lock unless a replacement committed in between (version changed).
    if content is None:
        content = declaration_content(declaration_id=declaration.pk)
    seen_version = declaration.version
    engine_declaration = engine_declaration_from_content(
        importer_eori=declaration.importer_eori,
        special_mentions=declaration.special_mentions,
        content=content,
    )
    lookup = PartnerLookup.for_declaration(engine_declaration, declaration.pk)
    lookup.prefetch_remote(engine_declaration)
    modes = check_modes()
    actor = who(by)

    def attempt() -> tuple[GunResult, list[LedgerEntry]]:
        nonlocal content, engine_declaration
        current, serial, run_id, locked = _validation_lock(
            declaration.pk, ledger.declaration_keys(engine_declaration), lock=lock
        )
        if current is None:
            raise Declaration.DoesNotExist
        if "company" in declaration._state.fields_cache:
            current.company = declaration.company  # the same row: a company never changes
        if current.status != DeclarationStatus.ANTICIPATED:
            raise StatusConflict(current.status, "validated")
        if current.version != seen_version:
            # Replaced since it was read: its documents may differ, lock those too. Taken out
            # of id order, these locks may deadlock with another transaction: PostgreSQL then
            # aborts one of the two, which is retried (``_locked``).
            content = declaration_content(declaration_id=current.pk)
            engine_declaration = engine_declaration_from_content(
                importer_eori=current.importer_eori,
                special_mentions=current.special_mentions,
                content=content,
            )
            lookup.add_partners(engine_declaration)
            locked = ledger.documents_lock(ledger.declaration_keys(engine_declaration), lock=lock)
        lookup.unknown.clear()
        # Only a validated declaration holds reservations: nothing of its own is available.
        lookup.use_locked(locked, own={})
        check = gun_check(
            declaration=engine_declaration, lookup=lookup, stage="validation", modes=modes
        )
        if after_check is not None:
            after_check()
        batch = ledger.Batch()
        run, messages = run_record(
            declaration=current,
            check=check,
            by=actor,
            with_messages=True,
            batch=batch,
            run_id=run_id,
        )
        entries: list[LedgerEntry] = []
        if check.outcome.rejected:
            kind = "declaration_rejected"
            _bump(current, old_status=DeclarationStatus.ANTICIPATED, last_run=run, batch=batch)
        else:
            kind = "declaration_validated"
            movements = _plan(engine_declaration, current, locked, lookup, own={})
            entries = ledger.ledger_reserve(
                declaration=current,
                movements=movements,
                who=actor,
                operation=f"v{current.version}",
                remote_partners=lookup.remote_partners,
                first=True,
                batch=batch,
            )
            control = check.outcome.control_required
            now = timezone.now()
            _bump(
                current,
                old_status=DeclarationStatus.ANTICIPATED,
                batch=batch,
                status=DeclarationStatus.VALIDATED,
                mrn=make_mrn(year=now.year, serial=f"{serial:012d}"),
                validated_at=now,
                control_required=control,
                control_status=ControlStatus.OPEN if control else ControlStatus.NONE,
                last_run=run,
            )
            if control:
                batch.add(*ledger.insert_sql(Control, [Control(declaration=current, run=run)]))
        linked = batch.check(*tracking_link.links_sql(declaration=current))
        answer = batch.run()
        _event(current, kind, run, lambda: _run_payload(current, check), linked=answer[linked])
        declaration_changed.send(
            Declaration,
            declaration=current,
            action="rejected" if check.outcome.rejected else "validated",
        )
        return GunResult(current, run, content, messages), entries

    result, entries = _locked(attempt, set_timeout=False)
    _after(entries, lookup.remote_partners)
    return result


def _after(entries: list[LedgerEntry], remote: set[str]) -> None:
    # The transaction is committed (or we run inside the caller's): enqueue after commit.
    _propagate_after_commit(entries, remote)


# --- rectification ----------------------------------------------------------------------------


def declaration_rectify(*, declaration: Declaration, data: Mapping[str, Any], by: Any) -> GunResult:
    """Rectify a validated declaration before release (GUN_RULES §1, §4, §5).

    Runs the rectification stage (73000 has no effect): any live message rejects and nothing
    changes but the recorded run. Accepted: the content is replaced and the reservations with
    it, atomically; the declaration's own previous reservation counts as available. After an
    unjustified control, an accepted rectification lifts the release block.
    409 ``status_<status>`` unless validated.
    """
    engine_declaration = engine_declaration_from_data(data)
    lookup = PartnerLookup.for_declaration(engine_declaration, declaration.pk)
    lookup.prefetch_remote(engine_declaration)
    actor = who(by)

    def attempt() -> tuple[GunResult, list[LedgerEntry]]:
        current = _lock_declaration(declaration.pk)
        if current.status != DeclarationStatus.VALIDATED:
            raise StatusConflict(current.status, "rectified")
        previous = ledger.open_reservations(declaration=current)
        keys = ledger.declaration_keys(engine_declaration) | {
            (e.document_code, e.reference) for e in previous
        }
        lookup.unknown.clear()
        locked = ledger.documents_lock(keys)
        own = ledger.own_reservations(declaration=current)
        lookup.use_locked(locked, own)
        check = gun_check(declaration=engine_declaration, lookup=lookup, stage="rectification")
        run = run_record(declaration=current, check=check, by=actor)
        if check.outcome.rejected:
            _bump(current, old_status=DeclarationStatus.VALIDATED, last_run=run)
            _event(current, "declaration_rejected", run, _run_payload(current, check))
            declaration_changed.send(Declaration, declaration=current, action="rejected")
            return GunResult(current, run), []
        operation = f"v{current.version}"
        closed = ledger.ledger_close(
            declaration=current,
            reservations=previous,
            phase=LedgerPhase.RELEASE,
            who=actor,
            operation=operation,
            remote_partners=lookup.remote_partners,
        )
        movements = _plan(engine_declaration, current, locked, lookup, own=own)
        reserved = ledger.ledger_reserve(
            declaration=current,
            movements=movements,
            who=actor,
            operation=operation,
            remote_partners=lookup.remote_partners,
        )
        _apply_header(current, data)
        current.save(
            update_fields=["client_reference", "importer_eori", "special_mentions", "post"]
        )
        _store_items(current, data)
        changes: dict[str, Any] = {"last_run": run}
        if current.control_status == ControlStatus.UNJUSTIFIED:
            changes["rectified_after_control"] = True
        _bump(current, old_status=DeclarationStatus.VALIDATED, **changes)
        _event(current, "declaration_validated", run, _run_payload(current, check))
        declaration_changed.send(Declaration, declaration=current, action="rectified")
        return GunResult(current, run), closed + reserved

    result, entries = _locked(attempt)
    _after(entries, lookup.remote_partners)
    return result


# --- cancel and release -----------------------------------------------------------------------


def _close_all(current: Declaration, *, phase: str, actor: str) -> list[LedgerEntry]:
    from gun.adapters import adapters_for

    previous = ledger.open_reservations(declaration=current)
    ledger.documents_lock({(e.document_code, e.reference) for e in previous})
    remote = {
        p for p, a in adapters_for({e.partner for e in previous}).items() if a.kind != "local"
    }
    # An entry already written as pending for a partner stays remote for its closing too.
    remote |= {e.partner for e in previous if e.state != "sent" or e.document_id is None}
    entries = ledger.ledger_close(
        declaration=current,
        reservations=previous,
        phase=phase,
        who=actor,
        operation=f"v{current.version}",
        remote_partners=remote,
    )
    _propagate_after_commit(entries, remote)
    return entries


def declaration_cancel(*, declaration: Declaration, by: Any) -> Declaration:
    """Cancel an anticipated or validated declaration (before release); a validated one's
    reservations are released (GUN_RULES §5). 409 ``status_<status>`` once released/cancelled."""
    actor = who(by)

    def attempt() -> Declaration:
        current = _lock_declaration(declaration.pk)
        if current.status not in (DeclarationStatus.ANTICIPATED, DeclarationStatus.VALIDATED):
            raise StatusConflict(current.status, "cancelled")
        old = current.status
        if old == DeclarationStatus.VALIDATED:
            _close_all(current, phase=LedgerPhase.RELEASE, actor=actor)
        changes: dict[str, Any] = {
            "status": DeclarationStatus.CANCELLED,
            "cancelled_at": timezone.now(),
        }
        if current.control_status == ControlStatus.OPEN:
            Control.objects.filter(declaration=current, decision="open").update(
                decision="unjustified", decided_at=timezone.now(), comment="cancelled"
            )
            changes["control_status"] = ControlStatus.UNJUSTIFIED
        _bump(current, old_status=old, **changes)
        declaration_changed.send(Declaration, declaration=current, action="cancelled")
        return current

    return _locked(attempt)


def declaration_release(*, declaration: Declaration, by: Any) -> Declaration:
    """Grant release (BAE): reservations become imputations for good; a reusable document whose
    imputed quantity reaches its initial quantity becomes EPU (GUN_RULES §5).

    409 ``status_<status>`` unless validated; 409 ``control_open`` / ``control_unjustified``
    while a control blocks release (GUN_RULES §1, §4).
    """
    actor = who(by)

    def attempt() -> Declaration:
        current = _lock_declaration(declaration.pk)
        if current.status != DeclarationStatus.VALIDATED:
            raise StatusConflict(current.status, "released")
        if current.release_blocked:
            raise GunConflict(
                f"control_{current.control_status}",
                "A customs control blocks the release of this declaration.",
                control_status=current.control_status,
            )
        _close_all(current, phase=LedgerPhase.IMPUTE, actor=actor)
        _bump(
            current,
            old_status=DeclarationStatus.VALIDATED,
            status=DeclarationStatus.RELEASED,
            released_at=timezone.now(),
        )
        _event(
            current,
            "declaration_released",
            None,
            {"declaration_id": str(current.pk), "mrn": current.mrn, "by": actor},
        )
        declaration_changed.send(Declaration, declaration=current, action="released")
        return current

    return _locked(attempt)
