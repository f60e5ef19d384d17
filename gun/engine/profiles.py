"""GUN document profiles (GUN_RULES §2): one entry per document code, declared as data.

Adding a GUN document code is adding one ``DocumentProfile`` to ``_PROFILES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Partner = Literal["SEMAE", "TRACES", "CITES"]


@dataclass(frozen=True)
class DocumentProfile:
    """What the GUN knows about one document code.

    ``unit``: the unit sheets must use (F034); ``line_number``: the line number sheets must give
    (F030); both None when the profile does not constrain them.
    """

    code: str
    name: str
    partner: Partner
    reference_pattern: re.Pattern[str]
    single_use: bool
    unit: str | None
    sheet_required: bool
    required_sheet_fields: tuple[str, ...]
    checks: tuple[str, ...]
    line_number: int | None = None

    def reference_is_well_formed(self, reference: str) -> bool:
        return self.reference_pattern.fullmatch(reference) is not None


# re.ASCII: \d must not accept non-ASCII digits in a reference.
_DI_PATTERN = re.compile(r"\d{4}-\d{2}-\d{7}-\d{2}", re.ASCII)
# Unicode \S on purpose: no blank of any kind at either end of a CITES reference.
_CITES_PATTERN = re.compile(r"(?=.{1,35}\Z)\S(?:.*\S)?")

_DI_CHECKS = (
    "T001", "F001", "F022", "F030", "F031", "F032", "F033", "F034",
    "F041", "F042", "F045", "F046", "F047", "F048",
)  # fmt: skip
_CHED_CHECKS = ("T001", "F001", "F022", "F032", "F046", "F047")
_CITES_CHECKS = ("T001", "F001", "F022", "F046", "F047")


def _ched(code: str, kind: str, name: str) -> DocumentProfile:
    # Each CHED code accepts only its own prefix: a CHEDP reference under C640 is F001.
    return DocumentProfile(
        code=code,
        name=name,
        partner="TRACES",
        reference_pattern=re.compile(rf"CHED{kind}\.[A-Z]{{2}}\.\d{{4}}\.\d{{7}}", re.ASCII),
        single_use=True,
        unit=None,
        sheet_required=False,
        required_sheet_fields=(),
        checks=_CHED_CHECKS,
    )


def _cites(code: str, name: str) -> DocumentProfile:
    return DocumentProfile(
        code=code,
        name=name,
        partner="CITES",
        reference_pattern=_CITES_PATTERN,
        single_use=True,
        unit=None,
        sheet_required=False,
        required_sheet_fields=(),
        checks=_CITES_CHECKS,
    )


_PROFILES: tuple[DocumentProfile, ...] = (
    DocumentProfile(
        code="2413",
        name="SEMAE seed import declaration (DI)",
        partner="SEMAE",
        reference_pattern=_DI_PATTERN,
        single_use=False,
        unit="KGM",
        sheet_required=True,
        required_sheet_fields=("line_number", "quantity", "unit"),
        checks=_DI_CHECKS,
        line_number=1,
    ),
    _ched("C640", "A", "CHED-A (live animals)"),
    _ched("N853", "P", "CHED-P (products of animal origin)"),
    _ched("C678", "D", "CHED-D (food and feed of non-animal origin)"),
    _ched("C085", "PP", "CHED-PP (plants and plant products)"),
    _cites("C638", "CITES import permit"),
    _cites("C639", "CITES import notification"),
    _cites("C401", "CITES export permit or re-export certificate"),
)

PROFILES: Mapping[str, DocumentProfile] = MappingProxyType({p.code: p for p in _PROFILES})
"""Every GUN document profile, by document code."""


def profile_for(code: str) -> DocumentProfile | None:
    """The profile of ``code``, or None when it is not a GUN document (nothing required)."""
    return PROFILES.get(code)
