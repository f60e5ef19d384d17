"""The delivery pipeline: outbox rows written with the event, claimed and sent by workers.

Guarantees, in one place:
- one Delivery row per (event, user, channel) (a unique constraint), written in the transaction
  that records the event, so an event is never recorded without its notifications nor the reverse;
- a worker sends a row only after claiming it with a conditional update (status `sending` and a
  lease); a row whose lease ran out (the worker died) can be claimed again;
- the Twilio SID is stored in the same update that marks the row accepted; a retry after an
  ambiguous failure (timeout, crash mid-call) first looks the message up at Twilio and adopts it
  rather than sending it a second time (Twilio has no idempotency key: a message Twilio had not
  yet created when the lookup ran, a request it read after the client's timeout, is sent twice;
  the lease is longer than the timeout so that the lookup comes after it);
- workers take rows in batches (one claim for up to conf.BATCH_SIZE rows of a channel, Attempt
  rows written before any call, results written in bulk, a bounded number of queries whatever
  the batch size); a call that could end after the batch's lease is not started.
"""

import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications import conf, sms
from notifications.kinds import (
    AGENT,
    EMAIL,
    INBOX,
    SMS,
    NotificationKind,
    kinds_for_event,
)
from notifications.models import (
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryStatus,
    Notice,
    Profile,
)
from notifications.outbox import process_threads
from notifications.outbox import values_update as _values_update
from notifications.preferences import preference_map, quiet_hours_end
from notifications.rendering import (
    EmailContent,
    email_bytes,
    email_content,
    email_message,
    is_plain_address,
    message_id,
    message_texts,
)
from sesame.celery import app as celery_app
from sesame.models import AgentProfile, Membership

DELIVER_TASK = "notifications.deliver"  # notifications/tasks.py

logger = logging.getLogger("sesame.notifications")

PROVIDER_CHANNELS = (SMS, EMAIL)
AMBIGUOUS = "ambiguous: "
# Within this many seconds, a retry is a Celery countdown; beyond, the sweep picks the row up.
COUNTDOWN_LIMIT = 60.0


@dataclass(frozen=True)
class Recipient:
    user: Any
    role: str


def recipients_for_event(*, event: Any, kinds: list[NotificationKind]) -> list[Recipient]:
    """Active members of the consignment's company, plus the agents of its border control post
    when a kind is meant for them. A person appears once (the company role wins)."""
    consignment = event.consignment
    found: dict[int, Recipient] = {}
    for membership in Membership.objects.filter(
        company_id=consignment.company_id, user__is_active=True
    ).select_related("user"):
        found.setdefault(membership.user_id, Recipient(membership.user, membership.role))
    if consignment.post_id and any(kind.to_agents for kind in kinds):
        for agent in AgentProfile.objects.filter(
            post_id=consignment.post_id, user__is_active=True
        ).select_related("user"):
            found.setdefault(agent.user_id, Recipient(agent.user, AGENT))
    return list(found.values())


def _deliveries_create(*, source: str, about: Any, kinds: list[NotificationKind]) -> list[int]:
    """Write the outbox rows of a newly recorded event, inside the caller's transaction.

    One row per (event, user, channel) the user's preferences (or role defaults) enable: SMS
    only to a verified phone, held until the end of the user's quiet hours unless the kind is
    urgent; inbox rows are delivered at once. Rows that already exist are left alone (the same
    event twice gives one notification per person and channel). After commit, the rows due now
    are handed to the workers. Returns the ids of the SMS and email rows of the event.
    """
    if not kinds:
        return []
    recipients = recipients_for_event(event=about, kinds=kinds)
    if not recipients:
        return []
    user_ids = [recipient.user.pk for recipient in recipients]
    prefs = preference_map(user_ids=user_ids, kinds=[kind.code for kind in kinds])
    profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=user_ids)}
    now = timezone.now()
    rows: dict[tuple[int, str], Delivery] = {}
    for recipient in recipients:
        user = recipient.user
        profile = profiles.get(user.pk)
        for kind in kinds:
            for channel in (INBOX, EMAIL, SMS):
                key = (user.pk, channel)
                if key in rows:
                    continue
                default = channel in kind.defaults.get(recipient.role, frozenset())
                if not prefs.get((user.pk, kind.code, channel), default):
                    continue
                row = Delivery(
                    **{source: about},
                    user=user,
                    channel=channel,
                    kind=kind.code,
                    language=user.language or "fr",
                )
                if channel == SMS:
                    if profile is None or not profile.phone_verified:
                        continue  # never an SMS to an unverified number
                    row.address = profile.phone
                    if not kind.urgent:
                        row.not_before = quiet_hours_end(profile=profile, now=now)
                elif channel == EMAIL:
                    if not user.email:
                        continue
                    row.address = user.email
                else:
                    row.status = DeliveryStatus.DELIVERED
                    row.sent_at = now
                rows[key] = row
    if not rows:
        return []
    Delivery.objects.bulk_create(rows.values(), ignore_conflicts=True)
    due = list(
        Delivery.objects.filter(
            **{source: about}, channel__in=PROVIDER_CHANNELS, status=DeliveryStatus.PENDING
        )
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .values_list("id", "channel")
    )
    if due:
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=due, coalesce=True))
    return [pk for pk, _ in due]


def deliveries_create_for_event(*, event: Any) -> list[int]:
    """Write the outbox rows of a newly recorded tracking event (see _deliveries_create)."""
    return _deliveries_create(
        source="event", about=event, kinds=kinds_for_event(event.kind, event.payload or {})
    )


def notice_record(
    *,
    key: str,
    consignment: Any,
    occurred_at: dt.datetime,
    texts: dict[str, dict[str, str]],
    attachments: list[dict[str, str]],
    kinds: list[NotificationKind],
) -> Notice | None:
    """Record a notice (something other than a tracking event that people are told) and its
    outbox rows, inside the caller's transaction, with the same guarantees as an event's: one
    row per (notice, user, channel). Idempotent on `key`: a second call with the same key adds
    nothing and returns None."""
    if not kinds:
        return None
    notice, created = Notice.objects.get_or_create(
        key=key[:150],
        defaults={
            "consignment": consignment,
            "occurred_at": occurred_at,
            "texts": texts,
            "attachments": attachments,
        },
    )
    if not created:
        return None
    _deliveries_create(source="notice", about=notice, kinds=kinds)
    return notice


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with jitter: base·2^(n-1), stretched by up to 50 %, capped."""
    delay = conf.BACKOFF_SECONDS * (2 ** max(attempt - 1, 0))
    delay = min(delay, conf.BACKOFF_MAX_SECONDS)
    return delay * (1 + random.random() / 2)  # noqa: S311 (jitter, not a secret)


SMS_STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}

_DUE_SQL = "status = 'pending' AND (not_before IS NULL OR not_before <= %(now)s)"
_CLAIMABLE_SQL = f"(({_DUE_SQL}) OR (status = 'sending' AND lease_until < %(now)s))"


def _claim_batch(
    *, delivery_ids: list[int], channels: list[str], fill: int, now: dt.datetime
) -> list[int]:
    """One conditional UPDATE ... RETURNING: the given rows that are due (or whose lease ran
    out), plus up to `fill` other due pending rows of `channels` no other worker holds (SKIP
    LOCKED), become `sending` with a lease and one more attempt. Returns the ids now ours."""
    table = Delivery._meta.db_table
    # Only constants and the table name are formatted in; every value is a parameter.
    sql = f"""
        WITH extra AS (
            SELECT id FROM {table}
            WHERE %(fill)s > 0 AND channel = ANY(%(channels)s) AND {_DUE_SQL}
              AND NOT (id = ANY(%(ids)s))
            LIMIT %(fill)s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {table}
        SET status = 'sending', lease_until = %(lease)s, attempts = attempts + 1,
            updated_at = %(now)s
        WHERE (id = ANY(%(ids)s) OR id IN (SELECT id FROM extra))
          AND channel = ANY(%(channels)s) AND {_CLAIMABLE_SQL}
        RETURNING id
    """  # noqa: S608
    params = {
        "ids": [int(i) for i in delivery_ids],
        "channels": list(channels),
        "fill": max(int(fill), 0),
        "now": now,
        "lease": now + dt.timedelta(seconds=conf.lease_seconds()),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # type: ignore[arg-type]
        return [row[0] for row in cursor.fetchall()]


@dataclass
class _Result:
    """What happened to one claimed row; None fields leave the column as it is."""

    status: str
    outcome: str = ""
    provider_id: str | None = None
    provider_status: str | None = None
    sent_at: dt.datetime | None = None
    not_before: dt.datetime | None = None
    last_error: str | None = None
    retry_in: float | None = None
    finished_at: dt.datetime | None = None
    not_started: bool = False


def _transient(*, delivery: Delivery, error: str) -> _Result:
    if delivery.attempts >= conf.MAX_ATTEMPTS:
        return _Result(
            status=DeliveryStatus.FAILED, outcome=AttemptOutcome.TRANSIENT, last_error=error
        )
    delay = backoff_seconds(delivery.attempts)
    logger.info("delivery %s: %s; retry in %.1fs", delivery.pk, error, delay)
    return _Result(
        status=DeliveryStatus.PENDING,
        outcome=AttemptOutcome.TRANSIENT,
        not_before=timezone.now() + dt.timedelta(seconds=delay),
        last_error=error,
        retry_in=delay if delay <= COUNTDOWN_LIMIT else None,
    )


def _error_text(exc: BaseException) -> str:
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, sms.PermanentError):
        return str(exc)
    if isinstance(exc, sms.AmbiguousError):
        return AMBIGUOUS + error
    return error


def _failure(*, delivery: Delivery, exc: BaseException) -> _Result:
    if isinstance(exc, sms.PermanentError):
        return _Result(
            status=DeliveryStatus.FAILED, outcome=AttemptOutcome.PERMANENT, last_error=str(exc)
        )
    return _transient(delivery=delivery, error=_error_text(exc))


def _not_started(delivery: Delivery) -> _Result:
    """A send not started because the lease would end before it could finish: nothing left
    the machine, so the row is due again at once, its attempt taken back (Attempt row deleted,
    count restored): it is neither spent nor ambiguous."""
    return _Result(
        status=DeliveryStatus.PENDING,
        not_before=timezone.now(),
        retry_in=0.0,
        not_started=True,
    )


def _executor() -> ThreadPoolExecutor:
    """This process's SMS threads; each thread keeps its own Twilio client, hence its own
    keep-alive connection."""
    return process_threads("sms", conf.SMS_THREADS)


def _send_sms_batch(
    *, rows: list[Delivery], ambiguous: dict[int, dt.datetime], deadline: float
) -> dict[int, _Result]:
    """Send the SMS of claimed rows concurrently. A row whose earlier attempt may have reached
    Twilio (`ambiguous`: its first attempt's start) is first looked up there and adopted if
    found; a SID stored on another row, or adopted by another row of the batch, is not adopted
    twice. One database query at most (the SIDs already stored)."""
    results: dict[int, _Result] = {}
    # One rendering per (event or notice, kind, language).
    texts: dict[tuple[int | None, int | None, str, str], str] = {}
    bodies = {}
    for row in rows:
        key = (row.event_id, row.notice_id, row.kind, row.language)
        if key not in texts:
            texts[key] = message_texts(kind_code=row.kind, event=row.source, language=row.language)[
                1
            ]
        bodies[row.pk] = texts[key]
    callback = sms.status_callback_url()
    pool = _executor()

    # 1. Look up what an interrupted attempt may have created.
    lookups = {
        row.pk: pool.submit(sms.find, to=row.address, body=bodies[row.pk], since=ambiguous[row.pk])
        for row in rows
        if row.pk in ambiguous
    }
    found: dict[int, list[sms.SentMessage]] = {}
    for row in rows:
        if row.pk in lookups:
            try:
                found[row.pk] = lookups[row.pk].result()
            except Exception as exc:
                results[row.pk] = _failure(delivery=row, exc=exc)
    if any(found.values()):
        sids = [message.sid for messages in found.values() for message in messages]
        taken = set(
            Delivery.objects.filter(provider_id__in=sids).values_list("provider_id", flat=True)
        )
        for row in rows:
            for candidate in found.get(row.pk, []):
                if candidate.sid not in taken:
                    taken.add(candidate.sid)
                    results[row.pk] = _accepted_sms(candidate, AttemptOutcome.ADOPTED)
                    break
    # 2. Send the others.
    sends = {}
    for row in rows:
        if row.pk in results:
            continue
        sends[row.pk] = pool.submit(
            _timed_send, deadline, to=row.address, body=bodies[row.pk], status_callback=callback
        )
    for row in rows:
        if row.pk not in sends:
            continue
        try:
            sent = sends[row.pk].result()
        except Exception as exc:
            results[row.pk] = _failure(delivery=row, exc=exc)
            continue
        if sent is None:
            results[row.pk] = _not_started(row)
        else:
            results[row.pk] = _accepted_sms(sent, AttemptOutcome.OK)
    return results


def _timed_send(deadline: float, **kwargs: str) -> sms.SentMessage | None:
    """sms.send, unless the deadline passed while the call waited for a free thread."""
    if time.monotonic() >= deadline:
        return None
    return sms.send(**kwargs)


def _accepted_sms(message: sms.SentMessage, outcome: str) -> _Result:
    return _Result(
        status=SMS_STATUSES.get(message.status, DeliveryStatus.QUEUED),
        outcome=outcome,
        provider_id=message.sid,
        provider_status=message.status,
        sent_at=timezone.now(),
        last_error="",
    )


def _send_email_batch(*, rows: list[Delivery], deadline: float) -> dict[int, _Result]:
    """Send the emails of claimed rows over one SMTP connection, one message at a time (so a
    failure is the failure of one row); a broken connection is opened again once. Each
    (event, kind, language) is rendered once for all its recipients; with Django's SMTP backend
    the raw message is handed to the open SMTP session as it is (no per-message MIME tree)."""
    results: dict[int, _Result] = {}
    contents: dict[tuple[int | None, int | None, str, str], EmailContent] = {}
    mail = get_connection()
    raw_smtp = isinstance(mail, SmtpBackend)
    sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, "utf-8") if raw_smtp else ""
    opened = False
    try:
        for row in rows:
            if time.monotonic() >= deadline:
                results[row.pk] = _not_started(row)
                continue
            try:
                key = (row.event_id, row.notice_id, row.kind, row.language)
                content = contents.get(key)
                if content is None:
                    content = contents[key] = email_content(
                        kind_code=row.kind, event=row.source, language=row.language
                    )
                if not opened:
                    mail.open()
                    opened = True
                if raw_smtp and is_plain_address(row.address):
                    mail.connection.sendmail(  # type: ignore[attr-defined]
                        sender, [row.address], email_bytes(delivery=row, content=content)
                    )
                else:
                    message = email_message(delivery=row, connection=mail, content=content)
                    mail.send_messages([message])
            except Exception as exc:
                results[row.pk] = _transient(delivery=row, error=_error_text(exc))
                with contextlib.suppress(Exception):
                    mail.close()
                opened = False
                continue
            results[row.pk] = _Result(
                status=DeliveryStatus.SENT,
                outcome=AttemptOutcome.OK,
                provider_id=message_id(row),
                sent_at=timezone.now(),
                last_error="",
            )
    finally:
        if opened:
            with contextlib.suppress(Exception):
                mail.close()
    return results


def _store_results(
    *, rows: dict[int, Delivery], results: dict[int, _Result], attempts: dict[int, Attempt]
) -> None:
    """Two UPDATEs in one transaction: the attempts, then the rows still ours (same claim)."""
    now = timezone.now()
    taken_back = [attempts.pop(pk).pk for pk, r in results.items() if r.not_started]
    with transaction.atomic():
        if taken_back:
            Attempt.objects.filter(pk__in=taken_back).delete()
        if attempts:
            _values_update(
                table=Attempt._meta.db_table,
                alias_columns="id, finished_at, outcome, error, provider_id",
                types=["bigint", "timestamptz", "text", "text", "text"],
                rows=[
                    [
                        attempt.pk,
                        results[pk].finished_at or now,
                        results[pk].outcome,
                        (results[pk].last_error or "")[:2000],
                        results[pk].provider_id or "",
                    ]
                    for pk, attempt in attempts.items()
                ],
                assignments="finished_at = v.finished_at, outcome = v.outcome, "
                "error = v.error, provider_id = v.provider_id",
                where="d.id = v.id",
                leading=[],
            )
        if results:
            _values_update(
                table=Delivery._meta.db_table,
                alias_columns="id, attempts, status, provider_id, provider_status, sent_at, "
                "not_before, last_error, taken_back",
                types=[
                    "bigint",
                    "integer",
                    "text",
                    "text",
                    "text",
                    "timestamptz",
                    "timestamptz",
                    "text",
                    "integer",
                ],
                rows=[
                    [
                        pk,
                        rows[pk].attempts,
                        str(result.status),
                        result.provider_id,
                        None if result.provider_status is None else result.provider_status[:20],
                        result.sent_at,
                        result.not_before,
                        result.last_error,
                        1 if result.not_started else 0,
                    ]
                    for pk, result in results.items()
                ],
                # None in a column leaves the row's value as it is.
                assignments="status = v.status, "
                "provider_id = COALESCE(v.provider_id, d.provider_id), "
                "provider_status = COALESCE(v.provider_status, d.provider_status), "
                "sent_at = COALESCE(v.sent_at, d.sent_at), "
                "not_before = COALESCE(v.not_before, d.not_before), "
                "last_error = COALESCE(v.last_error, d.last_error), "
                "attempts = d.attempts - v.taken_back, lease_until = NULL, updated_at = %s",
                where="d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempts",
                leading=[now],
            )


@dataclass(frozen=True)
class Retry:
    delivery_id: int
    channel: str
    delay: float


@dataclass(frozen=True)
class Batch:
    claimed: int  # rows this batch claimed (a full batch means more may be due)
    retries: list[Retry]


def deliveries_send(
    *, delivery_ids: list[int], channel: str | None = None, fill: int = 0
) -> list[Retry]:
    """deliveries_send_batch, returning only the rows to try again soon."""
    return deliveries_send_batch(delivery_ids=delivery_ids, channel=channel, fill=fill).retries


def deliveries_send_batch(
    *,
    delivery_ids: list[int],
    channel: str | None = None,
    fill: int = 0,
    when_full: Callable[[], Any] | None = None,
) -> Batch:
    """Claim a batch of SMS/email deliveries and make at most one provider call per row.

    The given rows (those due, or whose lease ran out) and up to `fill` more due rows of
    `channel` are claimed in one conditional UPDATE with a lease; rows another worker holds are
    left to it. Then, in a bounded number of queries whatever the batch size: an Attempt row per
    call is written before any call (an unfinished attempt marks a call that may have reached the
    provider); SMS leave concurrently over this process's threads, emails over one SMTP
    connection; the attempts' outcomes and the rows' new state (provider id with the accepted
    status, back-off, or failure) are written in one transaction, only to rows still held by
    this claim. A row already carrying a provider id is never sent again; a row past
    MAX_ATTEMPTS fails; a row whose earlier attempt may have reached Twilio is looked up there
    first and adopted if found. `when_full` is called right after a claim that took a full
    batch (given rows + fill), before any send: more rows may be due, another worker can start on
    them meanwhile. Returns how many rows were claimed and the rows to try again soon (transient
    errors with a short back-off) for the caller to re-enqueue.
    """
    now = timezone.now()
    started = time.monotonic()
    channels = [channel] if channel else list(PROVIDER_CHANNELS)
    claimed = _claim_batch(delivery_ids=delivery_ids, channels=channels, fill=fill, now=now)
    if not claimed:
        return Batch(claimed=0, retries=[])
    if when_full is not None and fill and len(claimed) >= len(delivery_ids) + fill:
        when_full()
    # A send started after this point could outlive the lease (then another worker may claim
    # the row): it is not started.
    deadline = started + conf.lease_seconds() - conf.TWILIO_TIMEOUT
    rows = {
        row.pk: row
        for row in Delivery.objects.select_related("event__consignment", "notice__consignment")
        .filter(pk__in=claimed)
        .order_by("pk")
    }
    results: dict[int, _Result] = {}
    to_send: list[Delivery] = []
    for row in rows.values():
        if row.provider_id:  # accepted by the provider already (its id is stored)
            results[row.pk] = _Result(status=DeliveryStatus.QUEUED)
        elif row.attempts > conf.MAX_ATTEMPTS:
            results[row.pk] = _Result(
                status=DeliveryStatus.FAILED, last_error=row.last_error or "too many attempts"
            )
        else:
            to_send.append(row)
    ambiguous: dict[int, dt.datetime] = {}
    retried = [row.pk for row in to_send if row.channel == SMS and row.attempts > 1]
    if retried:
        for item in (
            Attempt.objects.filter(delivery_id__in=retried)
            .values("delivery_id")
            .annotate(
                first=Min("started_at"),
                unsure=Count("id", filter=Q(outcome="") | Q(error__startswith=AMBIGUOUS)),
            )
        ):
            if item["unsure"]:
                ambiguous[item["delivery_id"]] = item["first"]
    attempts = {
        attempt.delivery_id: attempt
        for attempt in Attempt.objects.bulk_create(
            [Attempt(delivery=row, number=row.attempts, started_at=now) for row in to_send]
        )
    }
    sms_rows = [row for row in to_send if row.channel == SMS]
    email_rows = [row for row in to_send if row.channel == EMAIL]
    if sms_rows:
        results.update(_send_sms_batch(rows=sms_rows, ambiguous=ambiguous, deadline=deadline))
    if email_rows:
        results.update(_send_email_batch(rows=email_rows, deadline=deadline))
    _store_results(rows=rows, results=results, attempts=attempts)
    retries = [
        Retry(delivery_id=pk, channel=rows[pk].channel, delay=result.retry_in)
        for pk, result in results.items()
        if result.retry_in is not None
    ]
    return Batch(claimed=len(claimed), retries=retries)


def delivery_send(*, delivery_id: int) -> float | None:
    """Claim one SMS or email delivery and make at most one provider call for it (a batch of
    one, see deliveries_send).

    Returns the number of seconds after which it should be tried again (a transient error), or
    None (sent, failed for good, not due, claimed by someone else, or a long back-off the sweep
    will pick up). The Attempt row records each call: start, end, provider id, outcome, error.
    """
    retries = deliveries_send(delivery_ids=[delivery_id])
    return retries[0].delay if retries else None


def _waiting_key(channel: str) -> str:
    return f"notifications:batch-waiting:{channel}"


def batch_started(*, channel: str) -> None:
    """Called by a batch task before it claims: rows committed from now on need a new task."""
    cache.delete(_waiting_key(channel))


def deliveries_enqueue(
    *,
    delivery_ids: list[tuple[int, str]],
    countdown: float = 0,
    coalesce: bool = False,
    channel: str = "",
) -> int:
    """Hand rows to the workers: one task per channel and batch of conf.BATCH_SIZE ids, on the
    channel's queue (conf.QUEUES) and with its priority (conf.PRIORITIES: SMS batches are taken
    before email batches); each task also fills its batch with other due rows of its channel.

    With `coalesce` (new events), no task is added for a channel while one of its tasks waits
    unstarted in the queue (a Redis marker, conf.COALESCE_SECONDS at most): that task fills its
    batch with these rows, and a task that claimed a full batch enqueues the next one. A lost
    task costs delay, never a delivery (the sweep hands the rows back). `channel` without ids:
    one task that only fills a batch of that channel. Returns the number of tasks enqueued."""
    # By name: the services never import the tasks (which import the services).
    deliver = celery_app.signature(DELIVER_TASK)
    by_channel: dict[str, list[int]] = {channel: []} if channel else {}
    for pk, row_channel in delivery_ids:
        by_channel.setdefault(row_channel, []).append(pk)
    size = max(conf.BATCH_SIZE, 1)
    tasks = 0
    for batch_channel, ids in by_channel.items():
        if coalesce and not cache.add(_waiting_key(batch_channel), 1, conf.COALESCE_SECONDS):
            continue  # a waiting task of this channel will take these rows
        options: dict[str, Any] = {
            "queue": conf.QUEUES.get(batch_channel),
            "priority": conf.PRIORITIES.get(batch_channel, 0),
        }
        if countdown > 0:
            options["countdown"] = countdown
        for start in range(0, max(len(ids), 1), size):
            deliver.apply_async((ids[start : start + size], batch_channel), **options)
            tasks += 1
    return tasks


def deliveries_recover(
    *, now: dt.datetime | None = None, pending_grace_seconds: float = 60, limit: int = 5000
) -> list[int]:
    """Hand back to the workers the rows a crash or a lost message left behind.

    Picks pending rows that are due and untouched for `pending_grace_seconds`, and sending rows
    whose lease has run out; enqueues them (the claim makes a duplicate task harmless). Returns
    their ids.
    """
    now = now or timezone.now()
    grace = now - dt.timedelta(seconds=pending_grace_seconds)
    stale_pending = Q(status=DeliveryStatus.PENDING, updated_at__lte=grace) & (
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    expired = Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
    found = list(
        Delivery.objects.filter(channel__in=PROVIDER_CHANNELS)
        .filter(stale_pending | expired)
        .order_by("id")
        .values_list("id", "channel")[:limit]
    )
    if found:
        deliveries_enqueue(delivery_ids=found)
    return [pk for pk, _ in found]


STATUS_RANK = {
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.UNDELIVERED: 3,
    DeliveryStatus.FAILED: 3,
}


@transaction.atomic
def delivery_status_record(*, sid: str, status: str, error_code: str = "") -> Delivery | None:
    """Follow a Twilio status callback. Returns None when no delivery has this SID.

    A status never moves backwards (callbacks can arrive out of order); an unknown status value
    is kept in provider_status only.
    """
    delivery = Delivery.objects.select_for_update().filter(provider_id=sid, channel=SMS).first()
    if delivery is None:
        return None
    new = SMS_STATUSES.get(status)
    changes: dict[str, Any] = {"provider_status": status[:20]}
    if new and STATUS_RANK.get(new, 0) > STATUS_RANK.get(delivery.status, 0):  # type: ignore[call-overload]
        changes["status"] = new
    if error_code:
        changes["last_error"] = f"Twilio error {error_code[:10]}"
    for name, value in changes.items():
        setattr(delivery, name, value)
    delivery.save(update_fields=[*changes, "updated_at"])
    return delivery


def inbox_mark_read(*, user: Any, delivery_id: int) -> bool:
    """Mark one of the user's own inbox notifications read; False when it is not theirs."""
    found = Delivery.objects.filter(pk=delivery_id, user=user, channel=INBOX)
    if not found.exists():
        return False
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def inbox_mark_all_read(*, user: Any) -> int:
    """Mark all the user's unread inbox notifications read; returns how many."""
    return Delivery.objects.filter(user=user, channel=INBOX, read_at__isnull=True).update(
        read_at=timezone.now()
    )
