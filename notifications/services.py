"""The delivery pipeline: outbox rows written with the event, claimed and sent by workers.

Guarantees, in one place:
- one Delivery row per (event, user, channel) (a unique constraint), written in the transaction
  that records the event, so an event is never recorded without its notifications nor the reverse;
- a worker sends a row only after claiming it with a conditional update (status `sending` and a
  lease); a row whose lease ran out (the worker died) can be claimed again;
- the Twilio SID is stored in the same update that marks the row accepted; a retry after an
  ambiguous failure (timeout, crash mid-call) first looks the message up at Twilio and adopts it
  rather than sending it a second time.
"""

import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Any

from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
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
from notifications.models import Attempt, AttemptOutcome, Delivery, DeliveryStatus, Profile
from notifications.preferences import preference_map, quiet_hours_end
from notifications.rendering import email_message, message_texts
from sesame.models import AgentProfile, Membership

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


def deliveries_create_for_event(*, event: Any) -> list[int]:
    """Write the outbox rows of a newly recorded event, inside the caller's transaction.

    One row per (event, user, channel) the user's preferences (or role defaults) enable: SMS
    only to a verified phone, held until the end of the user's quiet hours unless the kind is
    urgent; inbox rows are delivered at once. Rows that already exist are left alone (the same
    event twice gives one notification per person and channel). After commit, the rows due now
    are handed to the workers. Returns the ids of the SMS and email rows of the event.
    """
    kinds = kinds_for_event(event.kind, event.payload or {})
    if not kinds:
        return []
    recipients = recipients_for_event(event=event, kinds=kinds)
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
                    event=event,
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
            event=event, channel__in=PROVIDER_CHANNELS, status=DeliveryStatus.PENDING
        )
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .values_list("id", flat=True)
    )
    if due:
        from notifications.tasks import deliver

        transaction.on_commit(lambda: deliver.delay(due))
    return due


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with jitter: base·2^(n-1), stretched by up to 50 %, capped."""
    delay = conf.BACKOFF_SECONDS * (2 ** max(attempt - 1, 0))
    delay = min(delay, conf.BACKOFF_MAX_SECONDS)
    return delay * (1 + random.random() / 2)  # noqa: S311 (jitter, not a secret)


def _claim(*, delivery_id: int, now: dt.datetime) -> bool:
    lease_until = now + dt.timedelta(seconds=conf.lease_seconds())
    due = Q(status=DeliveryStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    expired = Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
    return (
        Delivery.objects.filter(pk=delivery_id, channel__in=PROVIDER_CHANNELS)
        .filter(due | expired)
        .update(
            status=DeliveryStatus.SENDING,
            lease_until=lease_until,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        == 1
    )


def _finish(
    *,
    delivery: Delivery,
    attempt: Attempt,
    outcome: str,
    changes: dict[str, Any],
    error: str = "",
    provider_id: str = "",
) -> bool:
    """Record the attempt and move the row on, if it is still ours (same claim)."""
    now = timezone.now()
    with transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=outcome, error=error[:2000], provider_id=provider_id
        )
        return (
            Delivery.objects.filter(
                pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
            ).update(lease_until=None, updated_at=now, **changes)
            == 1
        )


def _previous_attempt_ambiguous(*, delivery: Delivery) -> bool:
    return (
        Attempt.objects.filter(delivery=delivery, number__lt=delivery.attempts)
        .filter(Q(outcome="") | Q(error__startswith=AMBIGUOUS))
        .exists()
    )


def _send_sms(*, delivery: Delivery, body: str, ambiguous_before: bool) -> tuple[str, str, str]:
    """(sid, status, outcome); raises sms errors."""
    if ambiguous_before:
        first = Attempt.objects.filter(delivery=delivery).order_by("number").first()
        since = first.started_at if first else delivery.created_at
        candidates = sms.find(to=delivery.address, body=body, since=since)
        taken = set(
            Delivery.objects.filter(provider_id__in=[c.sid for c in candidates]).values_list(
                "provider_id", flat=True
            )
        )
        for candidate in candidates:
            if candidate.sid not in taken:
                return candidate.sid, candidate.status, AttemptOutcome.ADOPTED
    sent = sms.send(to=delivery.address, body=body)
    return sent.sid, sent.status, AttemptOutcome.OK


SMS_STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}


def delivery_send(*, delivery_id: int) -> float | None:
    """Claim one SMS or email delivery and make at most one provider call for it.

    Returns the number of seconds after which it should be tried again (a transient error), or
    None (sent, failed for good, not due, or claimed by someone else). The Attempt row records
    each call: start, end, provider id, outcome and error.
    """
    now = timezone.now()
    if not _claim(delivery_id=delivery_id, now=now):
        return None
    delivery = Delivery.objects.select_related("event__consignment", "user").get(pk=delivery_id)
    if delivery.provider_id:
        # Already accepted by the provider (its id is stored): never send again.
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.QUEUED, lease_until=None, updated_at=now
        )
        return None
    if delivery.attempts > conf.MAX_ATTEMPTS:
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED,
            lease_until=None,
            updated_at=now,
            last_error=delivery.last_error or "too many attempts",
        )
        return None
    attempt = Attempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=now)
    try:
        if delivery.channel == SMS:
            _, body = message_texts(
                kind_code=delivery.kind, event=delivery.event, language=delivery.language
            )
            sid, status, outcome = _send_sms(
                delivery=delivery,
                body=body,
                ambiguous_before=_previous_attempt_ambiguous(delivery=delivery),
            )
            _finish(
                delivery=delivery,
                attempt=attempt,
                outcome=outcome,
                provider_id=sid,
                changes={
                    "provider_id": sid,
                    "provider_status": status,
                    "status": SMS_STATUSES.get(status, DeliveryStatus.QUEUED),
                    "sent_at": now,
                    "last_error": "",
                },
            )
            return None
        with get_connection() as connection:
            message = email_message(delivery=delivery, connection=connection)
            message.send()
        message_id = message.extra_headers["Message-ID"]
        _finish(
            delivery=delivery,
            attempt=attempt,
            outcome=AttemptOutcome.OK,
            provider_id=message_id,
            changes={
                "provider_id": message_id,
                "status": DeliveryStatus.SENT,
                "sent_at": now,
                "last_error": "",
            },
        )
        return None
    except sms.PermanentError as exc:
        _finish(
            delivery=delivery,
            attempt=attempt,
            outcome=AttemptOutcome.PERMANENT,
            error=str(exc),
            changes={"status": DeliveryStatus.FAILED, "last_error": str(exc)},
        )
        return None
    except Exception as exc:  # transient: provider 429/5xx, timeouts, SMTP errors
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, sms.AmbiguousError):
            error = AMBIGUOUS + error
        if delivery.attempts >= conf.MAX_ATTEMPTS:
            _finish(
                delivery=delivery,
                attempt=attempt,
                outcome=AttemptOutcome.TRANSIENT,
                error=error,
                changes={"status": DeliveryStatus.FAILED, "last_error": error},
            )
            return None
        delay = backoff_seconds(delivery.attempts)
        _finish(
            delivery=delivery,
            attempt=attempt,
            outcome=AttemptOutcome.TRANSIENT,
            error=error,
            changes={
                "status": DeliveryStatus.PENDING,
                "not_before": timezone.now() + dt.timedelta(seconds=delay),
                "last_error": error,
            },
        )
        logger.info("delivery %s: %s; retry in %.1fs", delivery.pk, error, delay)
        return delay if delay <= COUNTDOWN_LIMIT else None


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
    ids = list(
        Delivery.objects.filter(channel__in=PROVIDER_CHANNELS)
        .filter(stale_pending | expired)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    if ids:
        from notifications.tasks import deliver

        for start in range(0, len(ids), 100):
            deliver.delay(ids[start : start + 100])
    return ids


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
    if new and STATUS_RANK.get(new, 0) > STATUS_RANK.get(delivery.status, 0):
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
