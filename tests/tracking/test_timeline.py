"""The timeline rule book, row by row: pure functions over events and goods categories."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from tracking.kinds import KINDS
from tracking.timeline import (
    DONE,
    NOT_REQUIRED,
    WAITING,
    is_prenotification_late,
    prenotification_deadline,
    required_steps,
    timeline_build,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _english():  # the assertions read the English texts
    from django.utils import translation

    with translation.override("en"):
        yield
ARRIVAL = datetime(2026, 3, 12, 10, 0, tzinfo=PARIS)  # a Thursday, no holiday nearby
CUSTOMS = {"arrival", "declaration_lodged", "gun_result", "validation", "release", "exit"}
VET = {"prenotification", "documentary_check", "identity_check", "physical_check", "ched_decision"}


def ev(kind: str, hours: float = 0, id: int = 1, **payload: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=id, kind=kind, occurred_at=ARRIVAL + timedelta(hours=hours), payload=payload
    )


def build(events: list, categories: list[str]) -> object:
    return timeline_build(events=events, categories=categories, expected_arrival=ARRIVAL)


@pytest.mark.parametrize(
    ("categories", "extra"),
    [
        ([], set()),
        (["live_animals"], VET),
        (["animal_products"], VET),
        (["plants"], VET),
        (["food_non_animal"], VET),
        (["fl_marketing"], {"fl_certificate"}),
        (["organic"], {"organic_check"}),
        (["fl_marketing", "organic"], {"fl_certificate", "organic_check"}),
        (["plants", "fl_marketing"], VET | {"fl_certificate"}),
    ],
)
def test_required_steps_follow_the_goods_categories(categories: list[str], extra: set) -> None:
    assert required_steps(categories) == CUSTOMS | extra
    steps = {step.code: step.state for step in build([], categories).steps}
    for code, state in steps.items():
        assert state == (WAITING if code in CUSTOMS | extra else NOT_REQUIRED), code


@pytest.mark.parametrize(
    ("kind", "payload", "step", "failed"),
    [
        ("prenotification", {"ched_reference": "CHEDP.FR.2026.0000001"}, "prenotification", False),
        ("arrival", {}, "arrival", False),
        ("documentary_check", {"result": "compliant"}, "documentary_check", False),
        ("documentary_check", {"result": "non_compliant"}, "documentary_check", True),
        ("identity_check", {"result": "compliant"}, "identity_check", False),
        ("physical_check", {"result": "non_compliant"}, "physical_check", True),
        ("ched_decision", {"decision": "compliant"}, "ched_decision", False),
        ("ched_decision", {"decision": "non_compliant"}, "ched_decision", True),
        ("fl_certificate", {"result": "compliant"}, "fl_certificate", False),
        ("organic_check", {"result": "non_compliant"}, "organic_check", True),
        ("declaration_lodged", {}, "declaration_lodged", False),
        ("gun_result", {"outcome": "ok"}, "gun_result", False),
        ("gun_result", {"outcome": "ko"}, "gun_result", True),
        ("declaration_validated", {}, "validation", False),
        ("declaration_controlled", {}, "validation", False),
        ("declaration_rejected", {}, "validation", True),
        ("release", {}, "release", False),
        ("exit", {}, "exit", False),
    ],
)
def test_each_event_kind_settles_its_step(
    kind: str, payload: dict, step: str, failed: bool
) -> None:
    categories = ["animal_products", "fl_marketing", "organic"]
    timeline = build([ev(kind, **payload)], categories)
    settled = timeline.step(step)
    assert settled.state == DONE
    assert settled.failed is failed
    if failed:
        assert timeline.status == "blocked"
        assert settled.waiting_on == "operator"
        assert str(timeline.next_action) == str(settled.action)


def test_every_kind_belongs_to_a_known_step() -> None:
    steps = {step.code for step in build([], []).steps}
    assert {kind.step for kind in KINDS.values()} <= steps


def test_waiting_steps_say_on_whom() -> None:
    timeline = build([], ["plants", "fl_marketing"])
    waiting = {step.code: step.waiting_on for step in timeline.steps if step.state == WAITING}
    assert waiting == {
        "prenotification": "operator",
        "arrival": "port",
        "documentary_check": "SIVEP",
        "identity_check": "SIVEP",
        "physical_check": "SIVEP",
        "ched_decision": "SIVEP",
        "fl_certificate": "DGCCRF",
        "declaration_lodged": "operator",
        "gun_result": "customs",
        "validation": "operator",
        "release": "customs",
        "exit": "port",
    }


def test_food_of_non_animal_origin_alone_is_still_controlled_by_sivep_or_dgccrf() -> None:
    timeline = build([], ["organic"])
    assert timeline.step("organic_check").waiting_on == "DGCCRF"


def test_next_action_walks_the_operator_through_the_flow() -> None:
    cats = ["animal_products"]
    assert "CHED" in str(build([], cats).next_action)
    done = [ev("prenotification", -48, 1, ched_reference="CHEDP.FR.2026.0000001")]
    assert "declaration" in str(build(done, cats).next_action).lower()
    done.append(ev("declaration_lodged", 1, 2))
    # Validation waits for the GUN result: the operator is told who is working, not to validate.
    assert "GUN" in str(build(done, cats).next_action) or "waiting" in str(
        build(done, cats).next_action
    )
    done.append(ev("gun_result", 2, 3, outcome="ok"))
    assert "Validate" in str(build(done, cats).next_action)


def test_out_of_order_events_give_the_same_timeline() -> None:
    events = [
        ev("arrival", 0, 1),
        ev("declaration_lodged", 1, 2),
        ev("gun_result", 2, 3, outcome="ok"),
        ev("declaration_validated", 3, 4),
        ev("release", 4, 5),
    ]
    forward = build(events, [])
    backward = build(list(reversed(events)), [])
    assert [s.state for s in forward.steps] == [s.state for s in backward.steps]
    assert forward.status == backward.status == "released"
    assert [e.id for e in backward.events] == [1, 2, 3, 4, 5]


def test_a_late_delivered_older_result_does_not_override_the_newer_one() -> None:
    newer = ev("documentary_check", 5, 2, result="compliant")
    older_delivered_late = ev("documentary_check", 1, 3, result="non_compliant")
    timeline = build([newer, older_delivered_late], ["plants"])
    assert timeline.step("documentary_check").failed is False
    assert timeline.status == "in_progress"


def test_a_new_lodging_after_a_rejection_restarts_the_customs_steps() -> None:
    events = [
        ev("declaration_lodged", 1, 1),
        ev("declaration_rejected", 2, 2),
        ev("declaration_lodged", 3, 3),
    ]
    timeline = build(events, [])
    assert timeline.step("validation").state == WAITING
    assert timeline.status == "in_progress"


def test_duplicate_deliveries_count_once() -> None:
    same = ev("arrival", 0, 7)
    timeline = build([same, same], [])
    assert timeline.step("arrival").state == DONE
    assert timeline.status == "in_progress"


def test_exit_closes_the_timeline() -> None:
    timeline = build([ev("release", 1, 1), ev("exit", 2, 2)], [])
    assert timeline.status == "exited"
    assert "left" in str(timeline.next_action)


def at(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("lodged", "arrival", "late"),
    [
        # Ordinary week: the day before arrival is a working day.
        (at(2026, 3, 11), at(2026, 3, 12), False),
        (at(2026, 3, 12, 6), at(2026, 3, 12, 10), True),
        # Monday arrival: Friday is the last working day, a Sunday lodging is late.
        (at(2026, 3, 13, 23), at(2026, 3, 16), False),
        (at(2026, 3, 15), at(2026, 3, 16), True),
        # Wednesday 15 July 2026: 14 July (Tuesday) is a holiday, Monday 13 is the deadline.
        (at(2026, 7, 13, 22), at(2026, 7, 15), False),
        (at(2026, 7, 14, 9), at(2026, 7, 15), True),
        # Wednesday 12 November 2025: 11 November (Tuesday) is a holiday.
        (at(2025, 11, 10), at(2025, 11, 12), False),
        (at(2025, 11, 11), at(2025, 11, 12), True),
        # Same weekdays a week later (no holiday): the Tuesday lodging is in time.
        (at(2026, 7, 21), at(2026, 7, 22), False),
    ],
)
def test_prenotification_needs_one_working_day(
    lodged: datetime, arrival: datetime, late: bool
) -> None:
    assert is_prenotification_late(lodged_at=lodged, expected_arrival=arrival) is late


def test_deadline_skips_weekend_and_holiday() -> None:
    # Arrival Wednesday 15 July 2026 → Monday 13; arrival Monday 16 Nov 2025... → Friday 14.
    assert prenotification_deadline(at(2026, 7, 15)).isoformat() == "2026-07-13"
    assert prenotification_deadline(at(2025, 11, 17)).isoformat() == "2025-11-14"


def test_late_prenotification_is_flagged_on_the_step() -> None:
    arrival = at(2026, 7, 15)
    lodged = SimpleNamespace(id=1, kind="prenotification", occurred_at=at(2026, 7, 14), payload={})
    timeline = timeline_build(
        events=[lodged], categories=["live_animals"], expected_arrival=arrival
    )
    assert timeline.step("prenotification").late is True
    assert timeline.step("prenotification").state == DONE


def test_a_validated_declaration_has_passed_the_gun_result_step() -> None:
    timeline = build([ev("declaration_lodged", 1, id=1), ev("declaration_validated", 2, id=2)], [])
    states = {step.code: step.state for step in timeline.steps}
    assert states["gun_result"] == DONE
    assert states["validation"] == DONE
    assert states["release"] == WAITING


def test_event_details_leave_out_internal_ids_and_empty_values() -> None:
    from tracking.templatetags.tracking_tags import payload_items

    items = payload_items(
        {
            "mrn": None,
            "stage": "validation",
            "outcome": "accepted",
            "messages": [],
            "declaration_id": "7e06",
            "control_required": False,
        }
    )
    assert [(str(label), value) for label, value in items] == [
        ("GUN stage", "validation"),
        ("Outcome", "accepted"),
    ]
