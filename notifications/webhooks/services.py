"""Webhook use cases: endpoints (create, change, rotate the secret, delete), replays of the
dead-letter list, and the delivery pipeline.

Delivery guarantees, in one place:
- one delivery row per (event, endpoint) (a unique constraint), written in the event's
  transaction by ``notifications.feed.services``: no event without its deliveries, nor the
  reverse;
- at least once: a row is ``delivered`` only after a 2xx answer. A worker killed mid-call leaves
  its rows ``sending`` under a lease; once it runs out another worker claims them and calls
  again with the same ``webhook-id`` (receivers de-duplicate on it);
- in order per subject: a row is claimed only when no earlier row of the same subject (one
  declaration, one consignment, ...) to the same endpoint is pending or sending; the rows of one
  claim (distinct subjects) are sent concurrently;
- a slow or failing endpoint never delays the others: each endpoint is served by a task of its
  own, one at a time (a run lease in Redis), on a queue of its own; each call is bounded by
  conf.TIMEOUT and each run by conf.RUN_SECONDS, after which the task yields (re-enqueued behind
  the others); a round where every call failed ends the run; failures wait their back-off;
- retries follow conf.RETRY_SCHEDULE with jitter (about three days), then the row is ``dead``
  (the dead-letter list) until replayed;
- the destination is checked again before each round (``destinations.resolve``), and the call
  goes to the address checked.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets as random_tokens
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.feed.selectors import event_body
from notifications.feed.types import EVENT_TYPES
from notifications.outbox import process_threads, values_update
from notifications.webhooks import conf, destinations, signing, transport
from notifications.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

# --- endpoints -----------------------------------------------------------------------------


def _clean_types(event_types: list[str]) -> list[str]:
    types = list(dict.fromkeys(event_types))
    unknown = [code for code in types if code not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {
                "event_types": ValidationError(
                    _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)},
                    code="unknown_event_type",
                )
            }
        )
    if not types:
        raise ValidationError(
            {"event_types": ValidationError(_("Choose at least one event type."), code="required")}
        )
    return types


def _check_url(url: str) -> None:
    if len(url) > 2000:
        raise ValidationError(
            {"url": ValidationError(_("The URL is too long."), code="max_length")}
        )
    try:
        destinations.resolve(url)
    except destinations.UnsafeDestination as exc:
        raise ValidationError({"url": ValidationError(exc.message, code=exc.code)}) from None


def _new_secret(endpoint: WebhookEndpoint) -> str:
    clear = signing.new_secret()
    WebhookSecret.objects.create(endpoint=endpoint, ciphertext=signing.encrypt(clear))
    return clear


@transaction.atomic
def webhook_endpoint_create(
    *, company: Any, url: str, event_types: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Subscribe ``url`` of ``company`` to ``event_types``; returns the endpoint and its
    signing secret, in clear this once only. The URL must be one webhooks may go to
    (``destinations``); types must be known."""
    types = _clean_types(event_types)
    _check_url(url)
    endpoint = WebhookEndpoint(
        company=company, url=url, event_types=types, description=description[:200]
    )
    endpoint.full_clean(exclude=["company"])
    endpoint.save()
    return endpoint, _new_secret(endpoint)


EDITABLE = ("url", "event_types", "description", "enabled")


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change the URL (checked again), the types, the description or whether it is enabled.
    Re-enabled: its waiting deliveries go out (after commit)."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    for name in changes:
        if name not in EDITABLE:
            raise ValidationError({name: _("This field cannot be changed.")})
    if "event_types" in changes:
        changes["event_types"] = _clean_types(changes["event_types"])
    if "url" in changes and changes["url"] != locked.url:
        _check_url(changes["url"])
    was_enabled = locked.enabled
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.full_clean(exclude=["company"])
    locked.save()
    if locked.enabled and not was_enabled:
        transaction.on_commit(lambda: deliveries_enqueue(endpoint_ids=[locked.pk]))
    return locked


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its secrets and deliveries (the audit trail keeps it)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def webhook_secret_rotate(*, endpoint: WebhookEndpoint, overlap_seconds: int | None = None) -> str:
    """A new signing secret, returned in clear this once; the current one (and an older one
    still signing) keeps signing beside it for ``overlap_seconds`` at most (default
    conf.SECRET_OVERLAP_SECONDS, 0 ends them now, a week at most), so receivers can switch
    without losing a message. Expired secrets are deleted."""
    overlap = conf.SECRET_OVERLAP_SECONDS if overlap_seconds is None else int(overlap_seconds)
    if not 0 <= overlap <= conf.SECRET_OVERLAP_MAX_SECONDS:
        raise ValidationError(
            {
                "overlap_seconds": ValidationError(
                    _("Between 0 and %(max)s seconds.") % {"max": conf.SECRET_OVERLAP_MAX_SECONDS},
                    code="out_of_range",
                )
            }
        )
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    WebhookSecret.objects.filter(endpoint=locked, expires_at__lte=now).delete()
    ends = now + dt.timedelta(seconds=overlap)
    # The current secret, and any older one still in its overlap, sign until `ends` at most.
    WebhookSecret.objects.filter(endpoint=locked).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=ends)
    ).update(expires_at=ends)
    locked.secret_rotated_at = now
    locked.save(update_fields=["secret_rotated_at", "updated_at"])
    return _new_secret(locked)


def endpoint_secrets(*, endpoint_id: int, now: dt.datetime) -> list[str]:
    """The secrets that sign now, newest first (the current one and those still in overlap)."""
    rows = WebhookSecret.objects.filter(endpoint_id=endpoint_id).exclude(expires_at__lte=now)
    return [signing.decrypt(row.ciphertext) for row in rows.order_by("-created_at", "-id")]


# --- replays -------------------------------------------------------------------------------


def _replay(deliveries: Any) -> list[int]:
    now = timezone.now()
    ids = list(
        deliveries.filter(status=DeliveryState.DEAD).values_list("id", flat=True).order_by("id")
    )
    if ids:
        WebhookDelivery.objects.filter(id__in=ids, status=DeliveryState.DEAD).update(
            status=DeliveryState.PENDING,
            retries=0,
            not_before=now,
            updated_at=now,
            replays=F("replays") + 1,
        )
    return ids


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery) -> bool:
    """Send a dead delivery again, with a fresh retry schedule (same webhook-id); False when it
    is not dead. Its endpoint's task is enqueued after commit."""
    replayed = _replay(WebhookDelivery.objects.filter(pk=delivery.pk))
    if replayed:
        transaction.on_commit(lambda: deliveries_enqueue(endpoint_ids=[delivery.endpoint_id]))
    return bool(replayed)


@transaction.atomic
def webhook_dead_replay_all(*, endpoint: WebhookEndpoint) -> int:
    """Send every dead delivery of the endpoint again; returns how many."""
    replayed = _replay(WebhookDelivery.objects.filter(endpoint=endpoint))
    if replayed:
        transaction.on_commit(lambda: deliveries_enqueue(endpoint_ids=[endpoint.pk]))
    return len(replayed)


# --- delivery ------------------------------------------------------------------------------


def retry_delay(retries: int) -> float | None:
    """Seconds before the next attempt after ``retries`` failures in a row (with jitter), or
    None when the schedule is spent (the delivery is dead)."""
    if retries > len(conf.RETRY_SCHEDULE):
        return None
    base = conf.RETRY_SCHEDULE[retries - 1]
    return base * (1 + conf.JITTER * (2 * random.random() - 1))  # noqa: S311 (jitter)


def _waiting_key(endpoint_id: int) -> str:
    return f"webhooks:waiting:{endpoint_id}"


def _run_key(endpoint_id: int) -> str:
    return f"webhooks:run:{endpoint_id}"


def deliveries_enqueue(*, endpoint_ids: list[int], countdown: float = 0.0) -> int:
    """Hand endpoints to the workers: one task per endpoint, on conf.QUEUE. An immediate task
    is not added while one of the endpoint's waits unstarted (it takes the new rows). A lost
    task costs delay, never a delivery (the sweep hands endpoints back). Returns the tasks."""
    from notifications.webhooks.tasks import deliver

    tasks = 0
    for endpoint_id in endpoint_ids:
        options: dict[str, Any] = {"queue": conf.QUEUE}
        if countdown > 0:
            options["countdown"] = countdown
        elif not cache.add(_waiting_key(endpoint_id), 1, conf.COALESCE_SECONDS):
            continue
        deliver.apply_async((endpoint_id,), **options)
        tasks += 1
    return tasks


def _claim(*, endpoint_id: int, limit: int, now: dt.datetime) -> list[int]:
    """One conditional UPDATE ... RETURNING: up to ``limit`` due rows of the endpoint (pending
    and due, or sending with a lease run out), each the earliest open row of its subject, that
    no other worker holds (SKIP LOCKED), become ``sending`` with a lease and one more attempt."""
    table = WebhookDelivery._meta.db_table
    # Only the table name is formatted in; every value is a parameter.
    sql = f"""
        WITH claimable AS (
            SELECT d.id FROM {table} d
            WHERE d.endpoint_id = %(endpoint)s
              AND ((d.status = 'pending' AND d.not_before <= %(now)s)
                   OR (d.status = 'sending' AND d.lease_until < %(now)s))
              AND NOT EXISTS (
                  SELECT 1 FROM {table} e
                  WHERE e.endpoint_id = d.endpoint_id AND e.subject = d.subject
                    AND e.event_id < d.event_id AND e.status IN ('pending', 'sending'))
            ORDER BY d.event_id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {table} d
        SET status = 'sending', lease_until = %(lease)s, attempts = d.attempts + 1,
            updated_at = %(now)s
        FROM claimable WHERE d.id = claimable.id
        RETURNING d.id
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "endpoint": endpoint_id,
                "now": now,
                "limit": limit,
                "lease": now + dt.timedelta(seconds=conf.LEASE_SECONDS),
            },
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class _Outcome:
    answer: transport.Answer | None  # None: not started (the run's time was up)
    started_at: dt.datetime


def _call(
    destination: destinations.Destination,
    delivery: WebhookDelivery,
    secrets: list[str],
    deadline: float,
) -> _Outcome:
    started_at = timezone.now()
    if time.monotonic() >= deadline:
        return _Outcome(None, started_at)
    body = event_body(delivery.event)
    headers = signing.headers(
        msg_id=delivery.event.public_id, timestamp=int(time.time()), body=body, secrets=secrets
    )
    return _Outcome(transport.post(destination, body=body, headers=headers), started_at)


def _round(*, endpoint: WebhookEndpoint, claimed: list[int], deadline: float) -> tuple[int, int]:
    """Send one claim's rows concurrently and store the outcomes (two statements); returns
    (delivered, failed)."""
    rows = list(
        WebhookDelivery.objects.filter(id__in=claimed).select_related("event").order_by("event_id")
    )
    now = timezone.now()
    failure: str | None = None
    try:
        secrets = endpoint_secrets(endpoint_id=endpoint.pk, now=now)
        destination = destinations.resolve(endpoint.url)
    except (signing.SecretUnreadable, destinations.UnsafeDestination) as exc:
        failure = str(getattr(exc, "message", exc))
    outcomes: dict[int, _Outcome] = {}
    if failure is None:
        pool = process_threads("webhook", conf.THREADS)
        futures = {row.pk: pool.submit(_call, destination, row, secrets, deadline) for row in rows}
        outcomes = {pk: future.result() for pk, future in futures.items()}
    else:
        refused = transport.Answer(None, "", failure, 0)
        outcomes = {row.pk: _Outcome(refused, now) for row in rows}
    return _store(rows=rows, outcomes=outcomes)


def _store(*, rows: list[WebhookDelivery], outcomes: dict[int, _Outcome]) -> tuple[int, int]:
    """The attempts (one INSERT) and the rows still held by this claim (one UPDATE)."""
    now = timezone.now()
    delivered = failed = 0
    values = []
    attempts = []
    for row in rows:
        outcome = outcomes[row.pk]
        answer = outcome.answer
        if answer is None:  # not started: nothing left the machine, the attempt is taken back
            values.append([row.pk, row.attempts, "pending", row.retries, now, None, None, None, 1])
            continue
        attempts.append(
            WebhookAttempt(
                delivery_id=row.pk,
                number=row.attempts,
                started_at=outcome.started_at,
                duration_ms=answer.duration_ms,
                status_code=answer.status,
                error=answer.error,
                response_excerpt=answer.excerpt,
            )
        )
        if answer.ok:
            delivered += 1
            values.append([row.pk, row.attempts, "delivered", 0, now, now, answer.status, "", 0])
            continue
        failed += 1
        retries = row.retries + 1
        delay = retry_delay(retries)
        status = "dead" if delay is None else "pending"
        not_before = now + dt.timedelta(seconds=delay or 0)
        values.append(
            [
                row.pk,
                row.attempts,
                status,
                retries,
                not_before,
                None,
                answer.status,
                answer.error[:2000],
                0,
            ]
        )
    with transaction.atomic():
        if attempts:
            WebhookAttempt.objects.bulk_create(attempts)
        if values:
            values_update(
                table=WebhookDelivery._meta.db_table,
                alias_columns="id, attempts, status, retries, not_before, delivered_at, "
                "status_code, error, taken_back",
                types=[
                    "bigint",
                    "integer",
                    "text",
                    "integer",
                    "timestamptz",
                    "timestamptz",
                    "integer",
                    "text",
                    "integer",
                ],
                rows=values,
                # None leaves the column as it is.
                assignments="status = v.status, retries = v.retries, not_before = v.not_before, "
                "delivered_at = COALESCE(v.delivered_at, d.delivered_at), "
                "last_status_code = COALESCE(v.status_code, d.last_status_code), "
                "last_error = COALESCE(v.error, d.last_error), "
                "attempts = d.attempts - v.taken_back, lease_until = NULL, updated_at = %s",
                # Only rows still held by this claim (a lease run out: another worker's now).
                where="d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempts",
                leading=[now],
            )
    return delivered, failed


@dataclass(frozen=True)
class Run:
    """What one task run did for an endpoint."""

    busy: bool = False  # another task was serving the endpoint
    delivered: int = 0
    failed: int = 0
    yielded: bool = False  # its time was up with work left


def endpoint_deliver(*, endpoint_id: int) -> Run:
    """Serve one endpoint for at most conf.RUN_SECONDS: claim its due rows in rounds of
    conf.BATCH_SIZE (one per subject), send each round concurrently, store the outcomes; stop
    when nothing is due, when a whole round failed, or when the time is up. Then hand the
    endpoint back to the workers if rows are due (at once) or due soon (with a countdown).
    Returns quietly when another task holds the endpoint or it is gone or disabled."""
    cache.delete(_waiting_key(endpoint_id))
    token = random_tokens.token_hex(8)
    if not cache.add(_run_key(endpoint_id), token, conf.LEASE_SECONDS):
        return Run(busy=True)
    delivered = failed = 0
    yielded = False
    try:
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).first()
        if endpoint is None:
            return Run()
        deadline = time.monotonic() + conf.RUN_SECONDS
        while True:
            if time.monotonic() >= deadline:
                yielded = True
                break
            claimed = _claim(endpoint_id=endpoint_id, limit=conf.BATCH_SIZE, now=timezone.now())
            if not claimed:
                break
            ok, ko = _round(endpoint=endpoint, claimed=claimed, deadline=deadline)
            delivered, failed = delivered + ok, failed + ko
            if ko and not ok:
                break  # the endpoint fails: its rows wait their back-off
    finally:
        if cache.get(_run_key(endpoint_id)) == token:
            cache.delete(_run_key(endpoint_id))
    _hand_back(endpoint_id=endpoint_id)
    return Run(delivered=delivered, failed=failed, yielded=yielded)


def _hand_back(*, endpoint_id: int) -> None:
    """After a run (its lease released): rows due now get a task; the soonest retry within
    conf.COUNTDOWN_LIMIT gets one with a countdown; later ones are the sweep's."""
    now = timezone.now()
    soonest = (
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryState.PENDING)
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )
    if soonest is None:
        return
    wait = (soonest - now).total_seconds()
    if wait <= 0:
        deliveries_enqueue(endpoint_ids=[endpoint_id])
    elif wait <= conf.COUNTDOWN_LIMIT:
        deliveries_enqueue(endpoint_ids=[endpoint_id], countdown=wait)


def deliveries_recover(*, now: dt.datetime | None = None) -> list[int]:
    """Hand back to the workers the enabled endpoints with rows due, or with rows whose lease
    ran out (a worker died); the run lease makes a duplicate task harmless. Returns their ids."""
    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(endpoint__enabled=True)
        .filter(
            Q(status=DeliveryState.PENDING, not_before__lte=now)
            | Q(status=DeliveryState.SENDING, lease_until__lt=now)
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    ids = sorted(set(due))
    if ids:
        deliveries_enqueue(endpoint_ids=ids)
    return ids
