"""event_record and declaration_event_record: the contract other apps rely on."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import CompanyFactory
from tests.tracking.conftest import make_consignment
from tracking.models import DeclarationLink, Event
from tracking.services import declaration_event_record, event_record
from tracking.signals import event_recorded

pytestmark = pytest.mark.django_db


def test_event_record_is_idempotent_and_signals_once(company) -> None:
    consignment = make_consignment(company)
    handler = mock.Mock()
    event_recorded.connect(handler)
    at = timezone.now()
    try:
        first, created = event_record(
            consignment=consignment,
            kind="arrival",
            occurred_at=at,
            source="PORT",
            source_event_id="p-1",
        )
        again, created_again = event_record(
            consignment=consignment,
            kind="arrival",
            occurred_at=at,
            source="PORT",
            source_event_id="p-1",
        )
    finally:
        event_recorded.disconnect(handler)
    assert created and not created_again
    assert first.pk == again.pk
    assert handler.call_count == 1
    assert handler.call_args.kwargs["event"].pk == first.pk


def test_unknown_kind_is_refused(company) -> None:
    consignment = make_consignment(company)
    with pytest.raises(ValidationError):
        event_record(
            consignment=consignment,
            kind="nope",
            occurred_at=timezone.now(),
            source="PORT",
            source_event_id="p-1",
        )
    assert not Event.objects.exists()


def test_declaration_events_reach_every_linked_consignment_of_the_company(company) -> None:
    first = make_consignment(company, declarations=[{"client_reference": "C-1"}])
    second = make_consignment(company, declarations=[{"mrn": "21DE27364916384836"}])
    foreign = make_consignment(CompanyFactory(), declarations=[{"client_reference": "C-1"}])
    events = declaration_event_record(
        company=company,
        declaration_id="d-42",
        mrn="21DE27364916384836",
        client_reference="C-1",
        kind="declaration_released",
        occurred_at=timezone.now(),
        payload={},
        source_event_id="gun-7",
    )
    assert sorted(e.consignment_id for e in events) == sorted([first.pk, second.pk])
    assert {e.kind for e in events} == {"release"}
    assert not Event.objects.filter(consignment=foreign).exists()
    link = DeclarationLink.objects.get(consignment=first)
    assert (link.declaration_id, link.mrn) == ("d-42", "21DE27364916384836")
    # Later events find the link by declaration id alone; a replay records nothing new.
    again = declaration_event_record(
        company=company,
        declaration_id="d-42",
        mrn=None,
        client_reference="",
        kind="declaration_released",
        occurred_at=timezone.now(),
        payload={},
        source_event_id="gun-7",
    )
    assert {e.pk for e in again} <= {e.pk for e in events}
    assert Event.objects.count() == 2


def test_declaration_without_linked_consignment_records_nothing(company) -> None:
    make_consignment(company)
    assert (
        declaration_event_record(
            company=company,
            declaration_id="d-1",
            mrn=None,
            client_reference="unknown",
            kind="declaration_lodged",
            occurred_at=timezone.now(),
            payload={},
            source_event_id="gun-1",
        )
        == []
    )
