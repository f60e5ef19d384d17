"""Running the engine from the database (or a payload) and recording the run."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gun import engine
from gun.adapters import Adapter, adapters_for
from gun.adapters.local import lookup_in_rows
from gun.engine import DocumentKey, PartnerDocument, PartnerUnavailable, profile_for
from gun.fields import HAS_SHEET, sheet_engine_values
from gun.ledger import LockedDocuments
from gun.models import CheckMode, Declaration, GunMessage, GunRun


def engine_declaration_from_data(data: Mapping[str, Any]) -> engine.Declaration:
    """The engine's view of a validated payload (see ``declaration_register``)."""
    items = []
    for item in data["items"]:
        documents = []
        for document in item.get("documents", []):
            sheet = document.get("imputation")
            imputation = None
            if sheet is not None:
                imputation = engine.Imputation(**sheet_engine_values(sheet, by="name"))
            documents.append(
                engine.DocumentRef(
                    code=document["code"],
                    reference=document["reference"],
                    date=document.get("date"),
                    imputation=imputation,
                )
            )
        items.append(
            engine.Item(
                item_number=item["item_number"],
                commodity_code=item["commodity_code"],
                origin_country=item["origin_country"],
                net_mass_kg=Decimal(item["net_mass_kg"]),
                documents=tuple(documents),
            )
        )
    return engine.Declaration(
        importer_eori=data["importer_eori"],
        special_mentions=frozenset(data.get("special_mentions") or ()),
        items=tuple(items),
    )


def engine_declaration_from_content(
    *, importer_eori: str, special_mentions: Sequence[str], content: list[dict[str, Any]]
) -> engine.Declaration:
    """The engine's view of a stored declaration from ``selectors.declaration_content``."""
    items = []
    for item in content:
        documents = []
        for d in item["documents"]:
            imputation = None
            if d[HAS_SHEET]:
                imputation = engine.Imputation(**sheet_engine_values(d, by="column"))
            documents.append(
                engine.DocumentRef(
                    code=d["code"], reference=d["reference"], date=d["date"], imputation=imputation
                )
            )
        items.append(
            engine.Item(
                item_number=item["item_number"],
                commodity_code=item["commodity_code"],
                origin_country=item["origin_country"],
                net_mass_kg=item["net_mass_kg"],
                documents=tuple(documents),
            )
        )
    return engine.Declaration(
        importer_eori=importer_eori,
        special_mentions=frozenset(special_mentions),
        items=tuple(items),
    )


def engine_declaration_from_db(declaration: Declaration) -> engine.Declaration:
    """The engine's view of a stored declaration (one query: items with their documents)."""
    from gun.selectors import declaration_content

    return engine_declaration_from_content(
        importer_eori=declaration.importer_eori,
        special_mentions=declaration.special_mentions,
        content=declaration_content(declaration_id=declaration.pk),
    )


def check_modes() -> dict[tuple[str, str], str]:
    """The passive checks (everything else is live): one query, or none while this process's
    copy is current (``selectors.config_cached``)."""
    from gun.selectors import config_cached

    return config_cached("check_modes", _check_modes)


def _check_modes() -> dict[tuple[str, str], str]:
    return {
        (m.profile_code, m.check_code): m.mode
        for m in CheckMode.objects.filter(mode="passive")
        if (profile := profile_for(m.profile_code)) is not None and m.check_code in profile.checks
    }


def partner_keys(declaration: engine.Declaration) -> dict[str, list[DocumentKey]]:
    """Well-formed GUN references per partner, deduplicated, in declaration order."""
    keys: dict[str, dict[DocumentKey, None]] = {}
    for item in declaration.items:
        for document in item.documents:
            profile = profile_for(document.code)
            if profile and profile.reference_is_well_formed(document.reference):
                keys.setdefault(profile.partner, {})[(document.code, document.reference)] = None
    return {partner: list(k) for partner, k in keys.items()}


@dataclass
class HolderScope:
    """Whose partner documents a declaring company may learn about: its own and those of the
    importers that mandated it (docs/gun.md, "Mandates"). The mandates are read once, and only
    when a document of another holder turns up."""

    company: Any
    grantors: frozenset[str] | None = None

    def visible(self, holder_eori: str) -> bool:
        if holder_eori == self.company.eori:
            return True
        if self.grantors is None:
            from gun.selectors import mandate_grantor_eoris

            self.grantors = mandate_grantor_eoris(company=self.company)
        return holder_eori in self.grantors


@dataclass
class PartnerLookup:
    """The engine's ``lookup`` through the partners' adapters, remembering what it learned.

    Remote (non-local) partners are asked once, by ``prefetch_remote``, before any lock is
    taken; local partners are read when the engine asks (under the caller's locks).
    """

    adapters: dict[str, Adapter]
    declaration_id: uuid.UUID | None
    # Documents of a holder outside the scope are answered as unknown (F001), never shown.
    scope: HolderScope | None = None
    unknown: set[DocumentKey] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)
    # Local partners' rows already read under the caller's locks (see ``use_locked``).
    locked: LockedDocuments | None = None
    own: Mapping[int, Decimal] = field(default_factory=dict)
    _remote: dict[str, Mapping[DocumentKey, PartnerDocument | None] | PartnerUnavailable] = field(
        default_factory=dict
    )

    @classmethod
    def for_declaration(
        cls,
        declaration: engine.Declaration,
        declaration_id: uuid.UUID | None,
        scope: HolderScope | None = None,
    ) -> PartnerLookup:
        return cls(adapters_for(partner_keys(declaration), cached=True), declaration_id, scope)

    @property
    def local_partners(self) -> set[str]:
        return {p for p, a in self.adapters.items() if a.kind == "local"}

    @property
    def remote_partners(self) -> set[str]:
        return {p for p, a in self.adapters.items() if a.kind != "local"}

    def add_partners(self, declaration: engine.Declaration) -> None:
        """Adapters for partners of ``declaration`` not known yet (content changed meanwhile)."""
        missing = set(partner_keys(declaration)) - set(self.adapters)
        if missing:
            self.adapters.update(adapters_for(missing))

    def use_locked(self, locked: LockedDocuments, own: Mapping[int, Decimal]) -> None:
        """Answer local partners from ``locked`` (the rows ``ledger.documents_lock`` read under
        lock, the same rows the local adapter would read again) with ``own``, the declaration's
        reservation per line id: no further query for local partners."""
        self.locked = locked
        self.own = own

    def remote_documents(self) -> dict[DocumentKey, PartnerDocument]:
        """What the remote partners answered (documents out of scope left out)."""
        found: dict[DocumentKey, PartnerDocument] = {}
        for answer in self._remote.values():
            if isinstance(answer, PartnerUnavailable):
                continue
            if self.scope is not None:
                answer = self._in_scope(answer)
            found.update({key: d for key, d in answer.items() if d is not None})
        return found

    def prefetch_remote(self, declaration: engine.Declaration) -> None:
        for partner, keys in partner_keys(declaration).items():
            adapter = self.adapters[partner]
            if adapter.kind == "local":
                continue
            try:
                self._remote[partner] = adapter.lookup(keys, declaration_id=self.declaration_id)
            except PartnerUnavailable as exc:
                self._remote[partner] = exc

    def __call__(
        self, partner: str, keys: list[DocumentKey]
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        self.unavailable.discard(partner)
        try:
            cached = self._remote.get(partner)
            if isinstance(cached, PartnerUnavailable):
                raise cached
            adapter = self.adapters[partner]
            if cached is not None and all(key in cached for key in keys):
                answer = cached
            elif adapter.kind == "local" and self.locked is not None:
                answer = lookup_in_rows(
                    partner,
                    keys,
                    documents=self.locked.documents,
                    lines=self.locked.lines,
                    declaration_id=self.declaration_id,
                    own=self.own,
                )
            else:
                answer = adapter.lookup(keys, declaration_id=self.declaration_id)
        except PartnerUnavailable:
            self.unavailable.add(partner)
            raise
        if self.scope is not None:
            answer = self._in_scope(answer)
        self.unknown.update(key for key in keys if answer.get(key) is None)
        return answer

    def _in_scope(
        self, answer: Mapping[DocumentKey, PartnerDocument | None]
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        """A document of a holder that has not mandated the declarant is answered as unknown:
        F001 and nothing else, exactly as for a reference that does not exist."""
        scope = self.scope
        assert scope is not None
        if all(d is None or scope.visible(d.holder_eori) for d in answer.values()):
            return answer
        return {
            key: d if d is not None and scope.visible(d.holder_eori) else None
            for key, d in answer.items()
        }


@dataclass(frozen=True)
class GunCheck:
    messages: Sequence[engine.Message]
    outcome: engine.Outcome


def gun_check(
    *,
    declaration: engine.Declaration,
    lookup: PartnerLookup,
    stage: engine.Stage,
    modes: Mapping[tuple[str, str], str] | None = None,
) -> GunCheck:
    """Run every check and decide the outcome for ``stage``; ``modes``: the check modes read
    beforehand (default: read now)."""
    modes = check_modes() if modes is None else modes
    messages = engine.run_checks(declaration=declaration, lookup=lookup, check_modes=modes)
    outcome = engine.decide(
        stage=stage, messages=messages, special_mentions=declaration.special_mentions
    )
    return GunCheck(messages=messages, outcome=outcome)


def run_rows(
    *, declaration: Declaration, check: GunCheck, by: str, run_id: int | None = None
) -> tuple[GunRun, list[GunMessage]]:
    """The run and its messages in engine order, not written yet; the run becomes the
    declaration's last run. ``run_id``: taken beforehand from the runs' sequence."""
    run = GunRun(
        pk=run_id,
        declaration=declaration,
        stage=check.outcome.stage,
        outcome=check.outcome.outcome,
        control_required=check.outcome.control_required,
        by=by[:200],
    )
    messages = [
        GunMessage(
            run=run,
            order=order,
            code=m.code,
            item=m.item,
            document_code=m.document_code,
            reference=m.reference,
            document_index=m.document_index,
            passive=m.passive,
            forceable=m.forceable,
        )
        for order, m in enumerate(check.messages)
    ]
    declaration.last_run = run
    return run, messages


def run_record(*, declaration: Declaration, check: GunCheck, by: str) -> GunRun:
    """Store the run and its messages in engine order (two inserts); it becomes the
    declaration's last run."""
    run, messages = run_rows(declaration=declaration, check=check, by=by)
    run.save(force_insert=True)
    GunMessage.objects.bulk_create(messages)
    return run


def messages_payload(check: GunCheck) -> list[dict]:
    """Messages as tracking event payload (codes and where they apply)."""
    return [
        {
            "code": m.code,
            "item": m.item,
            "document_code": m.document_code,
            "reference": m.reference,
            "passive": m.passive,
        }
        for m in check.messages
    ]
