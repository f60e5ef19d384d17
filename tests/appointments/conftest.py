"""Fixtures of the appointment tests: calendars, consignments that need each service, a clock
the test moves (time-machine), agents."""

import itertools
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments.models import Calendar
from appointments.services import calendar_set, calendars_seed
from sesame.models import BorderControlPost
from tracking.models import Consignment
from tracking.services import consignment_create

PARIS = ZoneInfo("Europe/Paris")
CONTAINERS = ["CSQU3054383", "MSCU1234566"]
_seq = itertools.count(1)


def at(day: date, hour: int = 8, minute: int = 0) -> datetime:
    """A local (Europe/Paris) instant."""
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _calendars(request: pytest.FixtureRequest) -> None:
    """The seeded calendars exist in every database test (transactional tests flush them)."""
    names = set(request.fixturenames)
    if request.node.get_closest_marker("django_db") or names & {"db", "transactional_db"}:
        request.getfixturevalue("_reference_data")
        calendars_seed()


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], None]]:
    """clock(instant): the test's time is `instant` from now on (not ticking)."""
    traveller: list[Any] = []

    def move(instant: datetime) -> None:
        if traveller:
            traveller.pop().stop()
        travel = time_machine.travel(instant, tick=False)
        travel.start()
        traveller.append(travel)

    yield move
    if traveller:
        traveller.pop().stop()


def post(code: str = "FRLEH4") -> BorderControlPost:
    return BorderControlPost.objects.get(code=code)


def calendar(service: str = "SIVEP", code: str = "FRLEH4", **values: Any) -> Calendar:
    settings = {
        "hours": "mon-fri 08:00-12:00 13:30-17:00",
        "slot_minutes": 30,
        "capacity": 4,
        "notice_hours": 24,
        "horizon_days": 60,
        **values,
    }
    return calendar_set(post=post(code), service=service, **settings)


def consignment(company: Any, *, service: str = "SIVEP", **values: Any) -> Consignment:
    """A consignment at Le Havre (post FRLEH4) that meets `service`'s precondition (DOUANE:
    linked to `values.pop('declarations')`)."""
    defaults: dict[str, Any] = {
        "reference": f"APPT-{next(_seq):05d}",
        "container_numbers": list(CONTAINERS),
        "transport_document_type": "bl",
        "transport_document_number": "BL-1",
        "port": "FRLEH",
        "post": post(),
        "expected_arrival": datetime(2026, 12, 1, 9, tzinfo=PARIS),
        "categories": {"SIVEP": ["plants"], "DGCCRF": ["fl_marketing"], "DOUANE": []}[service],
        "ched_references": ["CHEDPP.MA.2026.0000001"] if service == "SIVEP" else [],
    }
    defaults.update(values)
    return consignment_create(company=company, **defaults)


# A Monday with a normal week after it: 2026-11-30 (Tuesday 1 December ... no holiday).
MONDAY = date(2026, 11, 30)


# The notification tests' servers: a real local SMTP server and the fake Twilio.
from tests.notifications.conftest import (  # noqa: E402, F401
    _smtp_server,
    _twilio_server,
    fake_twilio,
    smtp,
)
