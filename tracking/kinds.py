"""The registry of event kinds and goods categories: the timeline is a table, not a chain of ifs.

Each event kind names the timeline step it completes, the partner systems allowed to post it
through the partner API, and the shape of its payload.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

COMPLIANT = "compliant"
NON_COMPLIANT = "non_compliant"
RESULTS = (COMPLIANT, NON_COMPLIANT)

CHED_RE = re.compile(r"^CHED(A|P|D|PP)\.[A-Z]{2}\.\d{4}\.\d{7}$")
MRN_RE = re.compile(r"^\d{2}[A-Z]{2}[A-Z0-9]{12}[A-Z][A-Z0-9]$")


@dataclass(frozen=True)
class PayloadField:
    """One key of an event payload: required or not, a closed list of values or a pattern."""

    name: str
    required: bool = False
    choices: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    max_length: int = 200


@dataclass(frozen=True)
class EventKind:
    code: str
    label: Any  # lazy translation
    step: str  # the timeline step this kind completes (tracking.timeline.STEPS)
    partners: frozenset[str] = frozenset()  # partner keys that may post it
    fields: tuple[PayloadField, ...] = ()
    blocking: bool = False  # a negative outcome stops the flow (shown as "blocked")


RESULT = PayloadField("result", required=True, choices=RESULTS)
NOTE = PayloadField("note", max_length=1000)
CHED_REF = PayloadField("ched_reference", pattern=CHED_RE, max_length=30)
MRN = PayloadField("mrn", pattern=MRN_RE, max_length=18)
# A check done at an inspection appointment (APPOINTMENTS.md): the appointment's own keys.
APPOINTMENT_FIELDS = (
    PayloadField("check", choices=("identity", "physical")),
    PayloadField("appointment", pattern=re.compile(r"^\d{1,18}$"), max_length=18),
    PayloadField("service", choices=("SIVEP", "DGCCRF", "DOUANE")),
    PayloadField("post", max_length=10),
    PayloadField("start", max_length=40),
    PayloadField("end", max_length=40),
)

_KINDS = [
    EventKind(
        "prenotification",
        _("Pre-notification (CHED part I)"),
        "prenotification",
        frozenset({"TRACES"}),
        (PayloadField("ched_reference", required=True, pattern=CHED_RE, max_length=30), NOTE),
    ),
    EventKind("arrival", _("Arrival at port"), "arrival", frozenset({"PORT"}), (NOTE,)),
    EventKind(
        "documentary_check",
        _("Documentary check"),
        "documentary_check",
        frozenset({"SIVEP", "DGCCRF"}),
        (RESULT, CHED_REF, NOTE),
        blocking=True,
    ),
    EventKind(
        "identity_check",
        _("Identity check"),
        "identity_check",
        frozenset({"SIVEP", "DGCCRF"}),
        (RESULT, CHED_REF, NOTE, *APPOINTMENT_FIELDS),
        blocking=True,
    ),
    EventKind(
        "physical_check",
        _("Physical check"),
        "physical_check",
        frozenset({"SIVEP", "DGCCRF"}),
        (RESULT, CHED_REF, NOTE, *APPOINTMENT_FIELDS),
        blocking=True,
    ),
    EventKind(
        "ched_decision",
        _("CHED decision"),
        "ched_decision",
        frozenset({"TRACES"}),
        (PayloadField("decision", required=True, choices=RESULTS), CHED_REF, NOTE),
        blocking=True,
    ),
    EventKind(
        "fl_certificate",
        _("Marketing-standard certificate (F&L)"),
        "fl_certificate",
        frozenset({"DGCCRF"}),
        (RESULT, PayloadField("certificate_number", max_length=40), NOTE),
        blocking=True,
    ),
    EventKind(
        "organic_check",
        _("Organic control (certificate of inspection)"),
        "organic_check",
        frozenset({"DGCCRF"}),
        (RESULT, PayloadField("coi_reference", max_length=40), NOTE),
        blocking=True,
    ),
    EventKind(
        "declaration_lodged",
        _("Customs declaration lodged"),
        "declaration_lodged",
        frozenset({"DELTA"}),
        (MRN, NOTE),
    ),
    EventKind(
        "gun_result",
        _("GUN result"),
        "gun_result",
        frozenset({"DELTA"}),
        (PayloadField("outcome", required=True, choices=("ok", "ko", "forced")), NOTE),
        blocking=True,
    ),
    EventKind(
        "declaration_rejected",
        _("Declaration rejected"),
        "validation",
        frozenset({"DELTA"}),
        (MRN, NOTE),
        blocking=True,
    ),
    EventKind(
        "declaration_validated",
        _("Declaration validated"),
        "validation",
        frozenset({"DELTA"}),
        (MRN, NOTE),
    ),
    EventKind(
        "declaration_controlled",
        _("Declaration selected for customs control"),
        "validation",
        frozenset({"DELTA"}),
        (MRN, NOTE),
    ),
    EventKind("release", _("Release (BAE)"), "release", frozenset({"DELTA"}), (MRN, NOTE)),
    EventKind("exit", _("Exit from the port"), "exit", frozenset({"PORT"}), (NOTE,)),
]

KINDS: dict[str, EventKind] = {kind.code: kind for kind in _KINDS}
KIND_CHOICES = [(kind.code, kind.label) for kind in _KINDS]

# The contract with gun: its declaration kinds mapped onto tracking's own kinds.
DECLARATION_KINDS: dict[str, str] = {
    "declaration_lodged": "declaration_lodged",
    "declaration_rejected": "declaration_rejected",
    "declaration_validated": "declaration_validated",
    "declaration_controlled": "declaration_controlled",
    "declaration_released": "release",
}


def kinds_for_partner(partner: str) -> list[str]:
    return [kind.code for kind in _KINDS if partner in kind.partners]


def payload_errors(kind: EventKind, payload: Any) -> dict[str, list[dict[str, str]]]:
    """Field errors of a payload for this kind (empty when valid); unknown keys are refused."""
    if not isinstance(payload, dict):
        return {"payload": [{"message": "The payload must be a JSON object.", "code": "invalid"}]}
    errors: dict[str, list[dict[str, str]]] = {}
    known = {spec.name: spec for spec in kind.fields}
    for key in payload:
        if key not in known:
            errors[key] = [{"message": f"Unknown field for {kind.code}.", "code": "unknown_field"}]
    for spec in kind.fields:
        if spec.name not in payload:
            if spec.required:
                errors[spec.name] = [{"message": "This field is required.", "code": "required"}]
            continue
        value = payload[spec.name]
        if not isinstance(value, str):
            errors[spec.name] = [{"message": "A string is expected.", "code": "invalid_type"}]
        elif len(value) > spec.max_length:
            errors[spec.name] = [
                {"message": f"At most {spec.max_length} characters.", "code": "max_length"}
            ]
        elif spec.choices and value not in spec.choices:
            errors[spec.name] = [
                {"message": f"One of {', '.join(spec.choices)}.", "code": "invalid_choice"}
            ]
        elif spec.pattern is not None and not spec.pattern.match(value):
            errors[spec.name] = [{"message": "Not well formed.", "code": "invalid_format"}]
    return errors


# Goods categories and the controls they require (seed 000: SIVEP, DGCCRF, SORA, customs).
@dataclass(frozen=True)
class Category:
    code: str
    label: Any
    steps: frozenset[str]  # timeline steps this category makes required
    authority: str  # who performs its controls: SIVEP or DGCCRF
    ched_types: tuple[str, ...] = ()


VETERINARY = frozenset(
    {"prenotification", "documentary_check", "identity_check", "physical_check", "ched_decision"}
)

_CATEGORIES = [
    Category("live_animals", _("Live animals"), VETERINARY, "SIVEP", ("CHEDA",)),
    Category("animal_products", _("Products of animal origin"), VETERINARY, "SIVEP", ("CHEDP",)),
    Category("plants", _("Plants and plant products"), VETERINARY, "SIVEP", ("CHEDPP",)),
    Category("food_non_animal", _("Food of non-animal origin"), VETERINARY, "SIVEP", ("CHEDD",)),
    Category(
        "fl_marketing",
        _("Fruit and vegetables (marketing standards)"),
        frozenset({"fl_certificate"}),
        "DGCCRF",
    ),
    Category("organic", _("Organic products"), frozenset({"organic_check"}), "DGCCRF"),
]
CATEGORIES: dict[str, Category] = {category.code: category for category in _CATEGORIES}
CATEGORY_CHOICES = [(category.code, category.label) for category in _CATEGORIES]


# How the values of event payloads read on the pages and in the notifications (the API keeps
# the codes): per payload key, code -> lazy label. Keys of events recorded for the GUN included
# (gun.tracking_link: stage, outcome, decision of a control).
PAYLOAD_VALUE_LABELS: dict[str, dict[str, Any]] = {
    "result": {COMPLIANT: _("compliant"), NON_COMPLIANT: _("not compliant")},
    "decision": {
        COMPLIANT: _("compliant"),
        NON_COMPLIANT: _("not compliant"),
        "justified": _("control justified"),
        "unjustified": _("control unjustified"),
    },
    "outcome": {
        "ok": _("no anomaly"),
        "ko": _("anomalies"),
        "forced": _("forced (mention 73000)"),
        "informative": _("for information"),
        "accepted": _("accepted"),
        "accepted_with_control": _("accepted with control"),
        "rejected": _("rejected"),
    },
    "stage": {
        "anticipation": _("anticipation"),
        "validation": _("validation"),
        "rectification": _("rectification"),
    },
}


def payload_value_label(key: str, value: Any) -> Any:
    """A payload value as people read it: its label when the key has a closed list of values
    (PAYLOAD_VALUE_LABELS), yes/no for a boolean, the value itself otherwise."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return PAYLOAD_VALUE_LABELS.get(key, {}).get(value, value) if isinstance(value, str) else value
