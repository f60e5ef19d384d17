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

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from gun import ledger, sql, tracking_link
from gun.engine import make_mrn
from gun.errors import GunBusy, GunConflict, StatusConflict
from gun.fields import sheet_columns
from gun.models import (
    Control,
    ControlStatus,
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    GunRun,
    ItemDocument,
    LedgerEntry,
    LedgerPhase,
)
from gun.selectors import declaration_content
from gun.services.mandates import mandate_require
from gun.services.runs import (
    GunCheck,
    HolderScope,
    PartnerLookup,
    check_modes,
    engine_declaration_from_content,
    engine_declaration_from_data,
    gun_check,
    messages_payload,
    run_record,
    run_rows,
)
from gun.signals import declaration_changed_send

LOCK_ATTEMPTS = 4
RETRYABLE_SQLSTATES = {"55P03", "40P01"}  # lock_not_available, deadlock_detected

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
    messages: list[Any] | None = None

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

    ``set_timeout=False``: ``fn`` sets the time-out itself with its first statement (one round
    trip less). A balance refused by the database (``sql.BALANCE_CONSTRAINTS``, by constraint
    name) is 409 ``balance_exceeded``."""
    for attempt in range(LOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                if set_timeout:
                    with connection.cursor() as cursor:
                        cursor.execute(sql.LOCK_TIMEOUT_SQL)
                return fn()
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) not in RETRYABLE_SQLSTATES:
                raise
            time.sleep(0.05 * (2**attempt) * (0.5 + random.random()))  # noqa: S311
        except IntegrityError as exc:
            if sql.constraint_name(exc) in sql.BALANCE_CONSTRAINTS:
                # GUN_RULES §5: the database refused a balance the locks should have protected.
                raise GunConflict(
                    "balance_exceeded", "The document's balance does not cover this."
                ) from exc
            raise
    raise GunBusy()


def declaration_row_lock(pk: Any) -> Declaration:
    """The declaration row ``FOR UPDATE`` (its company and post with it), in the caller's
    transaction: the first lock of every use case that changes a declaration."""
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
            documents.append(
                ItemDocument(
                    item=row,
                    position=position,
                    code=document["code"],
                    reference=document["reference"],
                    date=document.get("date"),
                    **sheet_columns(document.get("imputation")),
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
        transaction.on_commit(functools.partial(propagate_partner.delay, partner))


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
        remote_documents=lookup.remote_documents(),
    )


def declaration_status_update(declaration: Declaration, *, old_status: str, **changes: Any) -> None:
    """Conditional update: the declaration must still be in ``old_status``, else 409; the
    version moves by one (the audit trigger fires as for any update)."""
    changes.setdefault("updated_at", timezone.now())
    updated = Declaration.objects.filter(pk=declaration.pk, status=old_status).update(
        version=F("version") + 1, **changes
    )
    if updated != 1:
        current = Declaration.objects.filter(pk=declaration.pk).values_list("status", flat=True)
        raise StatusConflict(next(iter(current), old_status), "changed concurrently")
    for name, value in changes.items():
        setattr(declaration, name, value)
    declaration.version += 1


# --- anticipation ----------------------------------------------------------------------------


def declaration_register(*, company: Any, data: Mapping[str, Any], by: Any) -> GunResult:
    """Register an anticipated declaration and run the anticipation checks (informative: the
    declaration is registered whatever the messages). One transaction: declaration, items,
    run, and the ``declaration_lodged`` tracking event."""
    grantors = mandate_require(company=company, importer_eori=data["importer_eori"])
    engine_declaration = engine_declaration_from_data(data)
    scope = HolderScope(company, grantors or None)
    lookup = PartnerLookup.for_declaration(engine_declaration, None, scope)
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
        declaration_changed_send(declaration=declaration, action="anticipated")
    return GunResult(declaration, run)


def declaration_replace(*, declaration: Declaration, data: Mapping[str, Any], by: Any) -> GunResult:
    """Replace an anticipated declaration's content and run anticipation again.

    409 ``status_<status>`` unless anticipated. Nothing is reserved, so no document is locked.
    403 ``no_mandate`` (before any check) when the company may not declare for the importer.
    """
    company = declaration.company
    grantors = mandate_require(company=company, importer_eori=declaration.importer_eori)
    grantors = mandate_require(
        company=company, importer_eori=data["importer_eori"], grantors=grantors or None
    )
    engine_declaration = engine_declaration_from_data(data)
    scope = HolderScope(company, grantors or None)
    lookup = PartnerLookup.for_declaration(engine_declaration, declaration.pk, scope)
    lookup.prefetch_remote(engine_declaration)
    with transaction.atomic():
        locked = declaration_row_lock(declaration.pk)
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
        declaration_changed_send(declaration=locked, action="replaced")
    return GunResult(locked, run)


# --- validation -------------------------------------------------------------------------------


def declaration_validate(
    *, declaration: Declaration, by: Any, content: list[dict[str, Any]] | None = None
) -> GunResult:
    """Run the validation checks; when accepted (with or without control, GUN_RULES §4) reserve
    the documents (§5) and assign a unique MRN, all in one transaction.

    Guarantees: quantities are checked under the documents' locks, so of two validations racing
    for the last kilograms exactly one wins and the other is rejected with F033; balances never
    go negative nor above the initial quantity (database CHECKs). A rejected run leaves the
    declaration anticipated with its run recorded. 409 ``status_<status>`` unless anticipated;
    409 ``busy`` when the documents stay locked; 403 ``no_mandate`` before any check.

    ``content``: the declaration's items as ``selectors.declaration_content``, when the caller
    read them with the row (``selectors.declaration_with_content``). The transaction goes
    through the validation store (``gun.sql``): the lock (declaration, MRN serial, run id,
    documents) and the writes (run, messages, ledger entries, balances, reservations, control,
    declaration, and whether a consignment links it) are one round trip each, whatever the
    number of items and documents, then the commit.
    """
    # The content is read once, before any lock (remote partners are asked now, GUN_RULES §6),
    # and reused under the lock unless a replacement committed in between (version changed).
    if content is None:
        content = declaration_content(declaration_id=declaration.pk)
    seen_version = declaration.version
    company = declaration.company
    # 403 before any check: no mandate in force for this importer (docs/gun.md, "Mandates").
    grantors = mandate_require(company=company, importer_eori=declaration.importer_eori)
    scope = HolderScope(company, grantors or None)
    engine_declaration = engine_declaration_from_content(
        importer_eori=declaration.importer_eori,
        special_mentions=declaration.special_mentions,
        content=content,
    )
    lookup = PartnerLookup.for_declaration(engine_declaration, declaration.pk, scope)
    lookup.prefetch_remote(engine_declaration)
    modes = check_modes()
    actor = who(by)
    store = sql.validation_store()

    def attempt() -> tuple[GunResult, list[LedgerEntry]]:
        nonlocal content, engine_declaration
        lock = store.lock(declaration.pk, ledger.declaration_keys(engine_declaration))
        current, locked = lock.declaration, lock.documents
        if current is None:
            raise Declaration.DoesNotExist
        current.company = company  # the same row: a company never changes
        if current.status != DeclarationStatus.ANTICIPATED:
            raise StatusConflict(current.status, "validated")
        if current.version != seen_version:
            # Replaced since it was read: its documents may differ, lock those too. Taken out
            # of id order, these locks may deadlock with another transaction: PostgreSQL then
            # aborts one of the two, which is retried (``_locked``).
            mandate_require(
                company=company, importer_eori=current.importer_eori, grantors=scope.grantors
            )
            content = declaration_content(declaration_id=current.pk)
            engine_declaration = engine_declaration_from_content(
                importer_eori=current.importer_eori,
                special_mentions=current.special_mentions,
                content=content,
            )
            lookup.add_partners(engine_declaration)
            locked = store.lock_documents(ledger.declaration_keys(engine_declaration))
        lookup.unknown.clear()
        # Only a validated declaration holds reservations: nothing of its own is available.
        lookup.use_locked(locked, own={})
        check = gun_check(
            declaration=engine_declaration, lookup=lookup, stage="validation", modes=modes
        )
        run, messages = run_rows(declaration=current, check=check, by=actor, run_id=lock.run_id)
        changes: dict[str, Any] = {"last_run": run, "updated_at": timezone.now()}
        plan = None
        control = check.outcome.control_required
        if not check.outcome.rejected:
            movements = _plan(engine_declaration, current, locked, lookup, own={})
            plan = ledger.reservation_writes(
                declaration=current,
                movements=movements,
                who=actor,
                operation=f"v{current.version}",
                remote_partners=lookup.remote_partners,
            )
            now = changes["updated_at"]
            changes.update(
                status=DeclarationStatus.VALIDATED,
                mrn=make_mrn(year=now.year, serial=f"{lock.mrn_serial:012d}"),
                validated_at=now,
                control_required=control,
                control_status=ControlStatus.OPEN if control else ControlStatus.NONE,
            )
        for name, value in changes.items():
            setattr(current, name, value)  # what the writes will make of it
        linked = store.write(
            sql.ValidationWrite(
                declaration=current,
                run=run,
                messages=messages,
                changes=changes,
                reservations=plan,
                control=control and not check.outcome.rejected,
                links_sql=tracking_link.links_sql(declaration=current),
            )
        )
        current.version += 1
        rejected = check.outcome.rejected
        kind = "declaration_rejected" if rejected else "declaration_validated"
        _event(current, kind, run, lambda: _run_payload(current, check), linked=linked)
        declaration_changed_send(
            declaration=current, action="rejected" if rejected else "validated"
        )
        entries = [] if plan is None else plan.remote_entries(lookup.remote_partners)
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
    409 ``status_<status>`` unless validated. 403 ``no_mandate`` (before any check) unless the
    company may declare both for the declaration's importer and for the one in ``data``.
    """
    company = declaration.company
    grantors = mandate_require(company=company, importer_eori=declaration.importer_eori)
    grantors = mandate_require(
        company=company, importer_eori=data["importer_eori"], grantors=grantors or None
    )
    engine_declaration = engine_declaration_from_data(data)
    scope = HolderScope(company, grantors or None)
    lookup = PartnerLookup.for_declaration(engine_declaration, declaration.pk, scope)
    lookup.prefetch_remote(engine_declaration)
    actor = who(by)

    def attempt() -> tuple[GunResult, list[LedgerEntry]]:
        current = declaration_row_lock(declaration.pk)
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
            declaration_status_update(current, old_status=DeclarationStatus.VALIDATED, last_run=run)
            _event(current, "declaration_rejected", run, _run_payload(current, check))
            declaration_changed_send(declaration=current, action="rejected")
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
        declaration_status_update(current, old_status=DeclarationStatus.VALIDATED, **changes)
        _event(current, "declaration_validated", run, _run_payload(current, check))
        declaration_changed_send(declaration=current, action="rectified")
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
        current = declaration_row_lock(declaration.pk)
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
        declaration_status_update(current, old_status=old, **changes)
        declaration_changed_send(declaration=current, action="cancelled")
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
        current = declaration_row_lock(declaration.pk)
        if current.status != DeclarationStatus.VALIDATED:
            raise StatusConflict(current.status, "released")
        if current.release_blocked:
            raise GunConflict(
                f"control_{current.control_status}",
                "A customs control blocks the release of this declaration.",
                control_status=current.control_status,
            )
        _close_all(current, phase=LedgerPhase.IMPUTE, actor=actor)
        declaration_status_update(
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
        declaration_changed_send(declaration=current, action="released")
        return current

    return _locked(attempt)
