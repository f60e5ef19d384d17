"""Booking, moving, cancelling, the authority's actions and closures, through the services."""

from datetime import date, timedelta

import pytest

from appointments.errors import Conflict, Invalid, Refused
from appointments.models import Appointment, Slot
from appointments.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_miss,
    appointment_no_show,
    appointment_reschedule,
    closure_declare,
)
from appointments.signals import appointment_changed
from tests.appointments.conftest import MONDAY, at, calendar, consignment, post
from tracking.models import Event

pytestmark = pytest.mark.django_db
THURSDAY = MONDAY + timedelta(days=3)


@pytest.fixture(autouse=True)
def _monday(clock):
    clock(at(MONDAY, 10))


@pytest.fixture
def signals():
    seen: list[tuple[str, int | None]] = []

    def listen(sender, appointment, action, **kwargs):
        seen.append((action, appointment.pk if appointment else None))

    appointment_changed.connect(listen, dispatch_uid="test-signals")
    yield seen
    appointment_changed.disconnect(dispatch_uid="test-signals")


def taken(appointment: Appointment) -> int:
    return Slot.objects.get(calendar=appointment.calendar, start=appointment.start).taken


def test_booking_takes_a_place_and_signals(company, signals):
    lot = consignment(company)
    appointment = appointment_book(
        consignment=lot, service="SIVEP", start=at(THURSDAY, 8), by="op@example.org"
    )
    assert appointment.status == "booked" and appointment.sequence == 0
    assert appointment.end == at(THURSDAY, 8, 30)
    assert appointment.containers == lot.container_numbers
    assert appointment.post.code == "FRLEH4"
    assert taken(appointment) == 1
    assert signals == [("booked", appointment.pk)]


@pytest.mark.parametrize(
    ("service", "values", "code"),
    [
        ("SIVEP", {"ched_references": []}, "ched_missing"),
        ("SIVEP", {"categories": ["fl_marketing"]}, "ched_missing"),
        ("DGCCRF", {"categories": ["plants"]}, "not_applicable"),
        ("DOUANE", {}, "no_customs_control"),
        ("SIVEP", {"post": None}, "no_post"),
    ],
)
def test_preconditions_refuse_with_their_code(company, service, values, code):
    lot = consignment(company, service=service, **values)
    with pytest.raises(Refused) as refused:
        appointment_book(consignment=lot, service=service, start=at(THURSDAY, 8))
    assert refused.value.code == code
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (at(THURSDAY, 8, 10), "not_a_slot"),
        (at(MONDAY + timedelta(days=5), 8), "not_a_slot"),
        (at(date(2026, 12, 25), 8), "not_a_slot"),
        (at(MONDAY + timedelta(days=1), 9), "too_late"),
        (at(MONDAY, 8), "too_late"),
        (at(MONDAY + timedelta(days=64), 8), "too_far"),
    ],
)
def test_slot_refusals(company, start, code):
    with pytest.raises(Refused) as refused:
        appointment_book(consignment=consignment(company), service="SIVEP", start=start)
    assert refused.value.code == code


def test_bad_input_is_400(company):
    lot = consignment(company)
    with pytest.raises(Invalid) as bad:
        appointment_book(
            consignment=lot, service="SIVEP", start=at(THURSDAY, 8), containers=["TGHU1234560"]
        )
    assert bad.value.field == "containers"
    with pytest.raises(Invalid) as bad:
        appointment_book(
            consignment=lot, service="SIVEP", start=at(THURSDAY, 8), contact_phone="0612345678"
        )
    assert bad.value.field == "contact_phone"
    with pytest.raises(Invalid):
        appointment_book(consignment=lot, service="VET", start=at(THURSDAY, 8))


def test_one_active_appointment_per_consignment_and_service(company):
    lot = consignment(company)
    appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    with pytest.raises(Conflict) as conflict:
        appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 9))
    assert conflict.value.code == "already_booked"


def test_a_full_slot_is_409_and_a_cancellation_frees_it(company):
    calendar("SIVEP", capacity=2)
    first, second, third = (consignment(company) for _ in range(3))
    a = appointment_book(consignment=first, service="SIVEP", start=at(THURSDAY, 8))
    appointment_book(consignment=second, service="SIVEP", start=at(THURSDAY, 8))
    with pytest.raises(Conflict) as conflict:
        appointment_book(consignment=third, service="SIVEP", start=at(THURSDAY, 8))
    assert conflict.value.code == "slot_full"
    appointment_cancel(appointment=a, reason="changed plans")
    assert taken(a) == 1
    appointment_book(consignment=third, service="SIVEP", start=at(THURSDAY, 8))
    assert taken(a) == 2


def test_the_database_refuses_a_place_beyond_capacity_whatever_the_code(company):
    """The trigger, not the service, is the rule: a direct insert is refused too."""
    from django.db import IntegrityError, transaction

    cal = calendar("SIVEP", capacity=1)
    appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    other = consignment(company)
    with pytest.raises(IntegrityError, match="slot full"), transaction.atomic():
        Appointment.objects.create(
            consignment=other,
            calendar=cal,
            post=post(),
            service="SIVEP",
            start=at(THURSDAY, 8),
            end=at(THURSDAY, 8, 30),
            scheduled_at=at(MONDAY, 10),
        )


def test_reschedule_moves_the_place_and_raises_the_sequence(company, signals):
    lot = consignment(company)
    appointment = appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    old_start = appointment.start
    moved = appointment_reschedule(appointment=appointment, start=at(THURSDAY, 14))
    assert (moved.pk, moved.sequence, moved.start) == (appointment.pk, 1, at(THURSDAY, 14))
    assert Slot.objects.get(calendar=moved.calendar, start=old_start).taken == 0
    assert taken(moved) == 1
    assert signals[-1] == ("rescheduled", appointment.pk)


def test_a_refused_reschedule_changes_nothing(company):
    calendar("SIVEP", capacity=1)
    a = appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 9))
    for start, code in ((at(THURSDAY, 9), "slot_full"), (at(THURSDAY, 8, 5), "not_a_slot")):
        with pytest.raises((Conflict, Refused)) as refused:
            appointment_reschedule(appointment=a, start=start)
        assert refused.value.code == code
        a.refresh_from_db()
        assert (a.start, a.sequence, taken(a)) == (at(THURSDAY, 8), 0, 1)


def test_cancel_rules(company, clock):
    a = appointment_book(consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8))
    clock(at(THURSDAY, 8, 1))
    with pytest.raises(Conflict) as conflict:
        appointment_cancel(appointment=a)
    assert conflict.value.code == "too_late"
    clock(at(MONDAY, 11))
    cancelled = appointment_cancel(appointment=a, reason="no longer needed")
    assert (cancelled.status, cancelled.sequence, cancelled.reason) == (
        "cancelled",
        1,
        "no longer needed",
    )
    with pytest.raises(Conflict) as conflict:
        appointment_cancel(appointment=a)
    assert conflict.value.code == "wrong_status"


def test_check_in_and_complete_record_the_tracking_event(company, signals):
    lot = consignment(company)
    a = appointment_book(consignment=lot, service="SIVEP", start=at(THURSDAY, 8))
    appointment_check_in(appointment=a, by="agent@sivep.example")
    done = appointment_complete(
        appointment=a,
        check="physical",
        result="non_compliant",
        note="Larvae found",
        by="agent@sivep.example",
    )
    assert (done.status, done.result, done.check_kind, done.sequence) == (
        "completed",
        "non_compliant",
        "physical",
        2,
    )
    event = Event.objects.get(consignment=lot)
    assert (event.kind, event.source, event.source_event_id, event.author) == (
        "physical_check",
        "appointments",
        f"appointment:{a.pk}:complete",
        "agent@sivep.example",
    )
    assert event.payload == {
        "result": "non_compliant",
        "check": "physical",
        "appointment": str(a.pk),
        "service": "SIVEP",
        "post": "FRLEH4",
        "start": "2026-12-03T08:00:00+01:00",
        "end": "2026-12-03T08:30:00+01:00",
        "note": "Larvae found",
    }
    lot.refresh_from_db()
    assert lot.status == "blocked"
    assert [action for action, _ in signals] == ["booked", "checked_in", "completed"]
    with pytest.raises(Conflict):
        appointment_complete(appointment=a, check="physical", result="compliant")


@pytest.mark.parametrize(
    ("action", "allowed_from"),
    [
        (lambda a: appointment_check_in(appointment=a), {"booked"}),
        (lambda a: appointment_no_show(appointment=a), {"booked"}),
        (
            lambda a: appointment_complete(appointment=a, check="identity", result="compliant"),
            {"booked", "checked_in"},
        ),
        (lambda a: appointment_miss(appointment=a), {"booked", "checked_in"}),
    ],
)
def test_authority_actions_are_409_from_any_other_status(company, action, allowed_from):
    for status in (
        "booked",
        "checked_in",
        "completed",
        "cancelled",
        "no_show",
        "missed_by_authority",
    ):
        a = appointment_book(
            consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 8)
        )
        fields = {"status": status}
        if status == "completed":
            fields.update(result="compliant", check_kind="identity")
        Appointment.objects.filter(pk=a.pk).update(**fields)
        if status in allowed_from:
            action(a)
        else:
            with pytest.raises(Conflict) as conflict:
                action(a)
            assert conflict.value.code == "wrong_status"
        Appointment.objects.filter(pk=a.pk).update(status="cancelled", result="", check_kind="")
        Appointment.objects.filter(rebooked_from=a).update(status="cancelled")


def test_a_missed_slot_is_rebooked_first_thing_next_open_day_over_capacity(company, signals):
    calendar("SIVEP", capacity=1)
    christmas_eve = date(2026, 12, 24)
    lot = consignment(company)
    a = appointment_book(consignment=lot, service="SIVEP", start=at(christmas_eve, 15))
    # Monday 28 December 08:00 is already full.
    appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(date(2026, 12, 28), 8)
    )
    missed = appointment_miss(appointment=a, reason="inspector ill", by="SIVEP")
    new = missed.rebooked_as
    assert missed.status == "missed_by_authority" and missed.reason == "inspector ill"
    assert new.priority and new.status == "booked"
    assert new.start == at(date(2026, 12, 28), 8)  # after Christmas and the weekend
    assert taken(new) == 1  # priority holds no place: still the one booking
    assert Appointment.objects.filter(start=new.start, status="booked").count() == 2
    assert list(signals[-2:]) == [("missed", a.pk), ("rebooked", new.pk)]


def test_a_closure_rebooks_every_booked_appointment_inside(company):
    thursday = [
        appointment_book(consignment=consignment(company), service=service, start=at(THURSDAY, 9))
        for service in ("SIVEP", "SIVEP")
    ]
    dgccrf_lot = consignment(company, service="DGCCRF")
    other_service = appointment_book(
        consignment=dgccrf_lot, service="DGCCRF", start=at(THURSDAY, 9)
    )
    outside = appointment_book(
        consignment=consignment(company), service="SIVEP", start=at(THURSDAY, 14)
    )
    _closure, rebooked = closure_declare(
        post=post(),
        service="SIVEP",
        starts_at=at(THURSDAY, 0),
        ends_at=at(THURSDAY, 13),
        reason="strike",
        by="agent@sivep.example",
    )
    assert len(rebooked) == 2
    for original in thursday:
        original.refresh_from_db()
        assert original.status == "missed_by_authority" and original.reason == "post_closed"
        assert original.rebooked_as.start == at(THURSDAY + timedelta(days=1), 8)  # next day
        assert original.rebooked_as.priority
    other_service.refresh_from_db()
    outside.refresh_from_db()
    assert other_service.status == outside.status == "booked"


def test_customs_needs_an_open_control_and_completion_decides_it(
    api, company, company_key, partner_key
):
    from gun.models import Declaration
    from tests.gun.test_pages_review import controlled_declaration

    declaration = controlled_declaration(api, company, company_key, partner_key)
    lot = consignment(
        company, service="DOUANE", declarations=[{"declaration_id": str(declaration.pk)}]
    )
    a = appointment_book(consignment=lot, service="DOUANE", start=at(THURSDAY, 8))
    appointment_complete(appointment=a, check="physical", result="compliant", by="DELTA")
    declaration = Declaration.objects.get(pk=declaration.pk)
    assert declaration.control_status == "justified"
    kinds = list(Event.objects.filter(consignment=lot).values_list("kind", flat=True))
    assert "physical_check" in kinds and "declaration_controlled" in kinds
    with pytest.raises(Refused) as refused:  # the control is closed now
        appointment_book(consignment=lot, service="DOUANE", start=at(THURSDAY, 9))
    assert refused.value.code == "no_customs_control"
