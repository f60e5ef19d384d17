"""Running the engine from the database (or a payload) and recording the run."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gun import engine
from gun.adapters import Adapter, adapters_for
from gun.engine import DocumentKey, PartnerDocument, PartnerUnavailable, profile_for
from gun.models import CheckMode, Declaration, GunMessage, GunRun

IMPUTATION_FIELDS = {
    # payload key -> engine field
    "line": "line_number",
    "product_reference": "product_reference",
    "trade_name": "trade_name",
    "quantity": "quantity",
    "unit": "unit",
    "provisional_weight": "provisional_weight",
    "weight_unit": "weight_unit",
    "amount": "amount",
    "currency": "currency",
    "net_mass_kg": "net_mass_kg",
}


def engine_declaration_from_data(data: Mapping[str, Any]) -> engine.Declaration:
    """The engine's view of a validated payload (see ``declaration_register``)."""
    items = []
    for item in data["items"]:
        documents = []
        for document in item.get("documents", []):
            sheet = document.get("imputation")
            imputation = None
            if sheet is not None:
                imputation = engine.Imputation(
                    **{IMPUTATION_FIELDS[k]: v for k, v in sheet.items() if k in IMPUTATION_FIELDS}
                )
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


def engine_declaration_from_db(declaration: Declaration) -> engine.Declaration:
    """The engine's view of a stored declaration (two queries: items, documents)."""
    items = []
    for item in declaration.items.prefetch_related("documents").order_by("item_number"):
        documents = []
        for d in item.documents.all():
            imputation = None
            if d.has_imputation:
                imputation = engine.Imputation(
                    line_number=d.imputation_line_number,
                    product_reference=d.imputation_product_reference,
                    trade_name=d.imputation_trade_name,
                    quantity=d.imputation_quantity,
                    unit=d.imputation_unit,
                    provisional_weight=d.imputation_provisional_weight,
                    weight_unit=d.imputation_weight_unit,
                    amount=d.imputation_amount,
                    currency=d.imputation_currency,
                    net_mass_kg=d.imputation_net_mass_kg,
                )
            documents.append(
                engine.DocumentRef(
                    code=d.code, reference=d.reference, date=d.date, imputation=imputation
                )
            )
        items.append(
            engine.Item(
                item_number=item.item_number,
                commodity_code=item.commodity_code,
                origin_country=item.origin_country,
                net_mass_kg=item.net_mass_kg,
                documents=tuple(documents),
            )
        )
    return engine.Declaration(
        importer_eori=declaration.importer_eori,
        special_mentions=frozenset(declaration.special_mentions),
        items=tuple(items),
    )


def check_modes() -> dict[tuple[str, str], str]:
    """The passive checks (everything else is live), one query."""
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
class PartnerLookup:
    """The engine's ``lookup`` through the partners' adapters, remembering what it learned.

    Remote (non-local) partners are asked once, by ``prefetch_remote``, before any lock is
    taken; local partners are read when the engine asks (under the caller's locks).
    """

    adapters: dict[str, Adapter]
    declaration_id: uuid.UUID | None
    unknown: set[DocumentKey] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)
    _remote: dict[str, Mapping[DocumentKey, PartnerDocument | None] | PartnerUnavailable] = field(
        default_factory=dict
    )

    @classmethod
    def for_declaration(
        cls, declaration: engine.Declaration, declaration_id: uuid.UUID | None
    ) -> PartnerLookup:
        return cls(adapters_for(partner_keys(declaration)), declaration_id)

    @property
    def local_partners(self) -> set[str]:
        return {p for p, a in self.adapters.items() if a.kind == "local"}

    @property
    def remote_partners(self) -> set[str]:
        return {p for p, a in self.adapters.items() if a.kind != "local"}

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
            if cached is not None and all(key in cached for key in keys):
                answer = cached
            else:
                answer = self.adapters[partner].lookup(keys, declaration_id=self.declaration_id)
        except PartnerUnavailable:
            self.unavailable.add(partner)
            raise
        self.unknown.update(key for key in keys if answer.get(key) is None)
        return answer


@dataclass(frozen=True)
class GunCheck:
    messages: Sequence[engine.Message]
    outcome: engine.Outcome


def gun_check(
    *, declaration: engine.Declaration, lookup: PartnerLookup, stage: engine.Stage
) -> GunCheck:
    """Run every check and decide the outcome for ``stage``."""
    messages = engine.run_checks(declaration=declaration, lookup=lookup, check_modes=check_modes())
    outcome = engine.decide(
        stage=stage, messages=messages, special_mentions=declaration.special_mentions
    )
    return GunCheck(messages=messages, outcome=outcome)


def run_record(*, declaration: Declaration, check: GunCheck, by: str) -> GunRun:
    """Store the run and its messages in engine order; it becomes the declaration's last run."""
    run = GunRun.objects.create(
        declaration=declaration,
        stage=check.outcome.stage,
        outcome=check.outcome.outcome,
        control_required=check.outcome.control_required,
        by=by[:200],
    )
    GunMessage.objects.bulk_create(
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
    )
    declaration.last_run = run
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
