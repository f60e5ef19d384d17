"""Run every GUN check on a declaration (GUN_RULES §2, §3) and return the messages in order.

Flow per GUN document (box-44 line whose code has a profile), items in item-number order and
documents in their order within the item:

1. F001 if the reference does not match the profile's pattern: nothing else on that document.
2. The partner is asked once for all its well-formed references. If it is unavailable: T001;
   if it does not know the document: F001, nothing else on that document.
3. Sheet checks (profiles that require a sheet only): F041, else F031 F030 F045 F042 F034.
4. Partner checks: F022 F032 F046 F047; F022 does not stop the others.
5. F033 on the running total of the declaration's sheets per (code, reference).
Then F048 per item over its DI sheets.

Choices where the rule book is silent:

- Item order is the item number (ties keep the declaration's order), so F033's running total
  does not depend on how the caller orders the items tuple.
- Check modes change only the effect of a message: a passive F001 or T001 still stops the
  checks that need the partner's document, since that document is unknown either way.
- A malformed reference is F001 even when its partner is unavailable; it is never sent to the
  partner. T001 is raised only for well-formed references.
- T001 does not stop the checks that need no partner data: F041, the sheet field checks and
  F048 still run (seed 004 §5.2 asks the declarant to complete the sheet before forcing with
  73000). F022, F032, F033, F046 and F047 need the partner's document and are skipped.
- F048 counts the KGM sheets of every DI of the item, including a DI that got F001 or T001:
  the check compares two figures of the declaration itself (box 38 and the sheets) and does
  not depend on the partner. A DI without a sheet contributes nothing.
- F048 sorts after all the item's document messages (document_index None) and names the item
  only (no document code, no reference). One F048 per item and per profile that lists F048.
- F032 and F046 compare the item with every line of the partner document and pass when one
  line matches, for DIs too (a DI has one line, line 1); the sheet's line number is not used
  to pick the line, it has its own checks (F031, F030). A document with no line fails both.
  A line with an empty tariff number matches no commodity code.
- F033 compares with the document's available quantity summed over its lines (a DI has one).
  Every sheet with a quantity counts, whatever its unit (a wrong unit is F034 on its own).
  Once the running total has exceeded, every later sheet of that document with a quantity is
  flagged. Sheets without a quantity (F045) neither add nor get F033.
- Codes, countries, EORIs and units are compared exactly as given; trimming and case folding
  belong to the input layer. Sheet strings holding only blanks count as empty.
- The same (code, reference) on several items is looked up once and checked on every
  occurrence; each occurrence gets its own messages (T001 and F001 included).
- A lookup answer missing a key counts as "unknown to the partner" (F001).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from gun.engine import rules
from gun.engine.messages import Message
from gun.engine.profiles import PROFILES, DocumentProfile, profile_for
from gun.engine.types import (
    Declaration,
    DocumentKey,
    DocumentRef,
    Item,
    Lookup,
    PartnerDocument,
    PartnerUnavailable,
)

CheckMode = Literal["live", "passive"]
CHECK_MODES: tuple[CheckMode, ...] = ("live", "passive")


@dataclass(frozen=True)
class _Occurrence:
    """One GUN document on one item."""

    item: Item
    index: int
    document: DocumentRef
    profile: DocumentProfile

    @property
    def key(self) -> DocumentKey:
        return (self.document.code, self.document.reference)


class _Collector:
    """Builds messages, honouring the profile's check list and the check modes."""

    def __init__(self, modes: Mapping[tuple[str, str], str]) -> None:
        self._modes = modes
        self.messages: list[Message] = []

    def document(self, code: str, occurrence: _Occurrence) -> None:
        profile = occurrence.profile
        if code not in profile.checks:
            return
        self.messages.append(
            Message(
                code=code,
                item=occurrence.item.item_number,
                document_code=occurrence.document.code,
                reference=occurrence.document.reference,
                document_index=occurrence.index,
                passive=self._passive(profile.code, code),
            )
        )

    def item(self, code: str, item: Item, profile: DocumentProfile) -> None:
        self.messages.append(
            Message(code=code, item=item.item_number, passive=self._passive(profile.code, code))
        )

    def _passive(self, profile_code: str, check_code: str) -> bool:
        return self._modes.get((profile_code, check_code), "live") == "passive"


def run_checks(
    *,
    declaration: Declaration,
    lookup: Lookup,
    check_modes: Mapping[tuple[str, str], str] | None = None,
) -> list[Message]:
    """Check ``declaration`` against its GUN documents; messages sorted by item, document, code.

    Pure: the only outside call is ``lookup``, once per partner with at least one well-formed
    reference. ``check_modes`` maps (profile code, check code) to "live" (default) or "passive".
    """
    modes = _validated_modes(check_modes or {})
    items = sorted(declaration.items, key=lambda item: item.item_number)
    occurrences = [
        _Occurrence(item=item, index=index, document=document, profile=profile)
        for item in items
        for index, document in enumerate(item.documents)
        if (profile := profile_for(document.code)) is not None
    ]
    well_formed = [
        o for o in occurrences if not rules.reference_malformed(o.profile, o.document.reference)
    ]
    answers = _look_up(well_formed, lookup)

    out = _Collector(modes)
    running_totals: defaultdict[DocumentKey, Decimal] = defaultdict(Decimal)
    exceeded: set[DocumentKey] = set()
    for occurrence in occurrences:
        profile, sheet = occurrence.profile, occurrence.document.imputation
        if rules.reference_malformed(profile, occurrence.document.reference):
            out.document("F001", occurrence)
            continue
        partner_answer = answers[profile.partner]
        partner_document: PartnerDocument | None = None
        if partner_answer is None:
            out.document("T001", occurrence)
        else:
            partner_document = partner_answer.get(occurrence.key)
            if partner_document is None:
                out.document("F001", occurrence)
                continue

        if rules.sheet_missing(profile, sheet):
            out.document("F041", occurrence)
        elif profile.sheet_required and sheet is not None:
            for rule in rules.SHEET_RULES:
                if rule.code in profile.checks and rule.sheet_check(profile, sheet):  # type: ignore[misc]
                    out.document(rule.code, occurrence)

        if partner_document is None:
            continue
        context = rules.DocumentContext(
            declaration=declaration, item=occurrence.item, partner_document=partner_document
        )
        for rule in rules.DOCUMENT_RULES:
            if rule.code in profile.checks and rule.document_check(context):  # type: ignore[misc]
                out.document(rule.code, occurrence)

        if "F033" in profile.checks and sheet is not None and sheet.quantity is not None:
            key = occurrence.key
            running_totals[key] += sheet.quantity
            available = rules.document_available(partner_document)
            if key in exceeded or rules.quantity_exceeds(running_totals[key], available):
                exceeded.add(key)  # GUN_RULES §3: flag this sheet and every later one
                out.document("F033", occurrence)

    for item in items:
        _check_net_mass(item, out)
    return sorted(out.messages, key=lambda message: message.sort_key)


def _check_net_mass(item: Item, out: _Collector) -> None:
    """F048, once per item and profile listing it, over the sheets counting for net mass."""
    quantities: dict[str, list[Decimal]] = {}
    profiles: dict[str, DocumentProfile] = {}
    for document in item.documents:
        profile = profile_for(document.code)
        quantity = rules.net_mass_quantity(document.imputation)
        if profile is None or "F048" not in profile.checks or quantity is None:
            continue
        quantities.setdefault(profile.code, []).append(quantity)
        profiles[profile.code] = profile
    for code, values in quantities.items():
        if rules.net_mass_inconsistent(item.net_mass_kg, values):
            out.item("F048", item, profiles[code])


def _look_up(
    occurrences: list[_Occurrence], lookup: Lookup
) -> dict[str, Mapping[DocumentKey, PartnerDocument | None] | None]:
    """One lookup per partner with its deduplicated references; None for an unavailable one."""
    keys_by_partner: dict[str, dict[DocumentKey, None]] = {}
    for occurrence in occurrences:
        keys_by_partner.setdefault(occurrence.profile.partner, {})[occurrence.key] = None
    answers: dict[str, Mapping[DocumentKey, PartnerDocument | None] | None] = {}
    for partner, keys in keys_by_partner.items():
        try:
            answers[partner] = lookup(partner, list(keys))
        except PartnerUnavailable:
            answers[partner] = None  # GUN_RULES §3: T001 for this partner's documents only
    return answers


def _validated_modes(modes: Mapping[tuple[str, str], str]) -> Mapping[tuple[str, str], str]:
    """Refuse a mode for a check the profile does not run, or a mode that does not exist."""
    for (profile_code, check_code), mode in modes.items():
        profile = PROFILES.get(profile_code)
        if profile is None or check_code not in profile.checks:
            raise ValueError(f"no check {check_code!r} on GUN profile {profile_code!r}")
        if mode not in CHECK_MODES:
            raise ValueError(f"check mode must be one of {CHECK_MODES}, not {mode!r}")
    return modes
