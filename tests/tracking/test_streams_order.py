"""Resuming a stream with Last-Event-ID misses nothing: events of one company commit in id order,
even when two transactions record them concurrently."""

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from unittest.mock import patch

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import CompanyFactory
from tests.tracking.conftest import make_consignment
from tracking.models import Event
from tracking.services import EVENTS_LOCK_NAMESPACE, event_record
from tracking.streams import missed_frames

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def _event_lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())",
            [EVENTS_LOCK_NAMESPACE],
        )
        return cursor.fetchone()[0]


def _visible(source_event_id: str) -> Event | None:
    return Event.objects.filter(source="PORT", source_event_id=source_event_id).first()


def _race(company) -> dict:
    """The first transaction inserts an event and stays open; a second one records an event of
    another consignment of the same company meanwhile (no row in common). Returns what a reader
    saw while the first was open."""
    consignment, other = make_consignment(company), make_consignment(company)
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                event_record(
                    consignment=consignment,
                    kind="arrival",
                    occurred_at=timezone.now(),
                    source="PORT",
                    source_event_id="first",
                )
                inserted.set()
                release.wait(10)
        except BaseException as error:
            errors.append(error)
            inserted.set()
        finally:
            connection.close()

    def second() -> None:
        try:
            event_record(
                consignment=other,
                kind="release",
                occurred_at=timezone.now(),
                source="PORT",
                source_event_id="second",
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    inserted.wait(10)
    two.start()
    # The second either waits for the first (lock) or commits on its own (no lock).
    _wait_until(
        lambda: _event_lock_waiters() > 0 or _visible("second") is not None,
        "the second transaction waits or commits",
    )
    seen = {"second_visible_while_first_open": _visible("second") is not None}
    release.set()
    one.join(10)
    two.join(10)
    assert not errors, errors
    seen["first"], seen["second"] = _visible("first"), _visible("second")
    return seen


def test_a_later_id_of_the_same_company_never_commits_before_an_earlier_one():
    company = CompanyFactory()
    seen = _race(company)
    assert seen["second_visible_while_first_open"] is False
    assert seen["first"].pk < seen["second"].pk
    # A reader that got the second event and resumes after it has already had the first.
    resumed = missed_frames(company_id=company.pk, consignment_id=None, after=seen["first"].pk - 1)
    assert [pk for pk, _frame in resumed] == [seen["first"].pk, seen["second"].pk]


def test_without_the_company_lock_a_resuming_reader_would_lose_an_event():
    """The failure the lock prevents, shown with the lock off."""
    from notifications.receivers import feed_on_event_recorded
    from tracking.signals import event_recorded

    company = CompanyFactory()
    # The change feed's row of each event takes the same lock (notifications.feed): off too.
    feed = "notifications.feed.tracking.signals.event_recorded"
    event_recorded.disconnect(dispatch_uid=feed)
    try:
        with patch("tracking.services._company_events_lock", lambda **_kw: nullcontext()):
            seen = _race(company)
    finally:
        event_recorded.connect(feed_on_event_recorded, dispatch_uid=feed)
    assert seen["second_visible_while_first_open"] is True
    assert seen["first"].pk < seen["second"].pk
    # The client saw the second event live, then reconnects with Last-Event-ID = its id.
    after_second = missed_frames(
        company_id=company.pk, consignment_id=None, after=seen["second"].pk
    )
    assert seen["first"].pk not in [pk for pk, _frame in after_second]
