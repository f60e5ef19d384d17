"""The consignment timeline, derived from its events: pure functions, no database.

Each step is done (an event completed it), waiting (required, no event yet; on whom), or not
required (the goods categories do not call for it). Events are taken in `occurred_at` order
(late deliveries fall into place); duplicates are already refused on recording.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import holidays
from django.utils.translation import gettext_lazy as _

from tracking.kinds import CATEGORIES, KINDS, NON_COMPLIANT

PARIS = ZoneInfo("Europe/Paris")

DONE = "done"
WAITING = "waiting"
NOT_REQUIRED = "not_required"

OPERATOR = "operator"
SIVEP = "SIVEP"
DGCCRF = "DGCCRF"
CUSTOMS = "customs"
PORT = "port"
PARTIES = {
    OPERATOR: _("you"),
    SIVEP: "SIVEP",
    DGCCRF: "DGCCRF",
    CUSTOMS: _("customs"),
    PORT: _("the port"),
}


class EventLike(Protocol):
    """What the timeline reads of an event (read-only, so a model's `int` id fits)."""

    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def payload(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StepSpec:
    code: str
    label: Any
    waiting_on: str  # OPERATOR, CUSTOMS, PORT, or "authority" (SIVEP/DGCCRF by category)
    action: Any  # what the operator does while this step waits
    always: bool = False  # customs and port steps apply to every consignment


AUTHORITY = "authority"

STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        "prenotification",
        _("Pre-notification (CHED part I)"),
        OPERATOR,
        _("Lodge the CHED part I in TRACES-NT at least one working day before arrival."),
    ),
    StepSpec(
        "arrival",
        _("Arrival at port"),
        PORT,
        _("Nothing to do: the goods have not arrived yet."),
        always=True,
    ),
    StepSpec(
        "documentary_check",
        _("Documentary check"),
        AUTHORITY,
        _("Make sure the certificates are attached to the CHED; the check is under way."),
    ),
    StepSpec(
        "identity_check",
        _("Identity check"),
        AUTHORITY,
        _("Book an inspection appointment at the border control post."),
    ),
    StepSpec(
        "physical_check",
        _("Physical check"),
        AUTHORITY,
        _("Book an inspection appointment at the border control post."),
    ),
    StepSpec(
        "ched_decision",
        _("CHED decision"),
        AUTHORITY,
        _("Nothing to do: the decision on the CHED is being taken."),
    ),
    StepSpec(
        "fl_certificate",
        _("Marketing-standard certificate (F&L)"),
        DGCCRF,
        _("Request the marketing-standard control in SORA."),
    ),
    StepSpec(
        "organic_check",
        _("Organic control"),
        DGCCRF,
        _("Submit the certificate of inspection (COI) in TRACES-NT."),
    ),
    StepSpec(
        "declaration_lodged",
        _("Customs declaration lodged"),
        OPERATOR,
        _("Lodge the customs declaration."),
        always=True,
    ),
    StepSpec(
        "gun_result",
        _("GUN result"),
        CUSTOMS,
        _("Nothing to do: the GUN is checking the declaration."),
        always=True,
    ),
    StepSpec(
        "validation",
        _("Validation of the declaration"),
        OPERATOR,
        _("Validate the declaration."),
        always=True,
    ),
    StepSpec(
        "release",
        _("Release (BAE)"),
        CUSTOMS,
        _("Nothing to do: waiting for customs to release the goods."),
        always=True,
    ),
    StepSpec(
        "exit",
        _("Exit from the port"),
        PORT,
        _("Collect the goods: they are released."),
        always=True,
    ),
)
STEP_CODES = tuple(spec.code for spec in STEPS)

# What the operator does when a step ended badly.
FAILED_ACTIONS = {
    "validation": _("Correct the declaration and lodge it again."),
    "gun_result": _("Correct the declaration: the GUN found a discrepancy."),
}
FAILED_ACTION = _("Contact %(party)s: the result is not compliant.")
# A later lodging starts these steps over (a corrected declaration is checked again).
RESTARTED_BY_LODGING = {"gun_result", "validation", "release"}


@dataclass
class Step:
    code: str
    label: Any
    state: str
    waiting_on: str = ""
    event: Any = None  # the event that settles the step (latest by occurred_at)
    failed: bool = False
    late: bool = False  # pre-notification lodged less than one working day before arrival
    action: Any = ""

    @property
    def waiting_on_label(self) -> Any:
        return PARTIES.get(self.waiting_on, self.waiting_on)


@dataclass
class Timeline:
    steps: list[Step]
    status: str
    next_action: Any
    events: list[Any] = field(default_factory=list)

    def step(self, code: str) -> Step:
        return next(step for step in self.steps if step.code == code)


@cache
def _french_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", years=year)  # metropolitan France (no subdivision)


def is_working_day(day: date) -> bool:
    """Monday to Friday, not a French public holiday (metropolitan France)."""
    return day.weekday() < 5 and day not in _french_holidays(day.year)


def prenotification_deadline(expected_arrival: datetime) -> date:
    """The last day a CHED part I may be lodged: the working day before the day of arrival."""
    day = expected_arrival.astimezone(PARIS).date() - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def is_prenotification_late(*, lodged_at: datetime, expected_arrival: datetime) -> bool:
    """Seed 003: notify at least one working day before the expected arrival."""
    return lodged_at.astimezone(PARIS).date() > prenotification_deadline(expected_arrival)


def required_steps(categories: Iterable[str]) -> set[str]:
    """The steps a consignment of these goods categories must go through."""
    steps = {spec.code for spec in STEPS if spec.always}
    for code in categories:
        category = CATEGORIES.get(code)
        if category is not None:
            steps |= category.steps
    return steps


def control_authority(categories: Iterable[str]) -> str:
    """SIVEP when any veterinary/phytosanitary category is present, else DGCCRF."""
    authorities = {CATEGORIES[c].authority for c in categories if c in CATEGORIES}
    return SIVEP if SIVEP in authorities or not authorities else DGCCRF


def _failed(event: Any) -> bool:
    kind = KINDS.get(event.kind)
    if kind is None or not kind.blocking:
        return False
    payload = event.payload or {}
    return (
        payload.get("result") == NON_COMPLIANT
        or payload.get("decision") == NON_COMPLIANT
        or payload.get("outcome") == "ko"
        or event.kind == "declaration_rejected"
    )


def _order(event: Any) -> tuple[datetime, int]:
    return (event.occurred_at, event.id or 0)


def timeline_build(
    *, events: Sequence[EventLike], categories: Iterable[str], expected_arrival: datetime
) -> Timeline:
    """The timeline of a consignment: every step's state, the status, the operator's next
    action. Pure: the same events in any order give the same timeline."""
    categories = list(categories)
    required = required_steps(categories)
    authority = control_authority(categories)
    ordered = sorted(events, key=_order)
    latest: dict[str, Any] = {}
    for recorded in ordered:
        kind = KINDS.get(recorded.kind)
        if kind is not None:
            latest[kind.step] = recorded
    # A validated declaration has passed the GUN: the result step is done with it.
    if "gun_result" not in latest and "validation" in latest:
        latest["gun_result"] = latest["validation"]
    lodged = latest.get("declaration_lodged")
    if lodged is not None:
        for code in RESTARTED_BY_LODGING:
            if code in latest and _order(latest[code]) < _order(lodged):
                del latest[code]

    steps: list[Step] = []
    for spec in STEPS:
        waiting_on = authority if spec.waiting_on == AUTHORITY else spec.waiting_on
        event = latest.get(spec.code)
        if event is not None:
            step = Step(spec.code, spec.label, DONE, event=event, failed=_failed(event))
            if step.failed:
                step.waiting_on = OPERATOR
                step.action = FAILED_ACTIONS.get(
                    spec.code, FAILED_ACTION % {"party": PARTIES[waiting_on]}
                )
            if spec.code == "prenotification":
                step.late = is_prenotification_late(
                    lodged_at=event.occurred_at, expected_arrival=expected_arrival
                )
        elif spec.code in required:
            step = Step(spec.code, spec.label, WAITING, waiting_on=waiting_on, action=spec.action)
        else:
            step = Step(spec.code, spec.label, NOT_REQUIRED)
        steps.append(step)

    by_code = {step.code: step for step in steps}
    if by_code["exit"].state == DONE:
        status = "exited"
    elif by_code["release"].state == DONE:
        status = "released"
    elif any(step.failed for step in steps):
        status = "blocked"
    elif not ordered:
        status = "expected"
    else:
        status = "in_progress"
    return Timeline(steps, status, _next_action(steps, status), ordered)


def _next_action(steps: list[Step], status: str) -> Any:
    if status == "exited":
        return _("Nothing to do: the goods have left the port.")
    failed = [step for step in steps if step.failed]
    if failed:
        return failed[-1].action
    for step in steps:
        if step.state == WAITING and step.waiting_on == OPERATOR:
            # Validation waits for the GUN result first; say so rather than ask too early.
            if step.code == "validation" and _state(steps, "gun_result") == WAITING:
                continue
            return step.action
    for step in steps:
        if step.state == WAITING:
            return _("Nothing to do: waiting on %(party)s (%(step)s).") % {
                "party": step.waiting_on_label,
                "step": step.label,
            }
    return _("Nothing to do.")


def _state(steps: list[Step], code: str) -> str:
    return next(step.state for step in steps if step.code == code)
