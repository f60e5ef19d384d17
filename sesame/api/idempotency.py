"""Idempotency-Key on POST and PATCH (draft-ietf-httpapi-idempotency-key-header).

The first request under a key runs and its response is stored for 24 hours; the same key with
the same request (method, path, body) replays that response (``Idempotent-Replayed: true``);
the same key with another request is 422 ``idempotency_key_reused``; while the first request
still runs, the same key is 409 ``idempotency_in_progress`` (``Retry-After``).

Records live in PostgreSQL (``IdempotencyRecord``), not Redis: a stored response stands for a
declaration or consignment that exists, and must survive a Redis restart or eviction as the
data does; the unique index on (owner, key) decides between two concurrent first requests.
A record is claimed in its own committed statement before the request runs, so a concurrent
request sees it at once; the claim is a lease (``API_IDEMPOTENCY_LEASE`` seconds, longer
than a worker's time-out): a request whose process died leaves a claim that the next retry
takes over once the lease has run out.

Responses that a retry should not replay are not stored, and the key is freed: 5xx, 408, 425,
429 and any answer carrying ``Retry-After`` (e.g. 409 ``busy``), streamed or larger than 1 MiB.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from sesame.api.models import IdempotencyRecord

TTL = timedelta(hours=24)
DEFAULT_LEASE = 60
KEY_RE = re.compile(r'^"?([\x21\x23-\x7e]{1,255})"?$')  # an sf-string (quoted) or a bare token
STORED_HEADERS = ("Content-Type", "Location", "ETag", "Content-Language")
MAX_STORED_BODY = 1024 * 1024
NOT_STORED = {408, 425, 429}


def idempotency_key_parse(value: str) -> str | None:
    """The key of an ``Idempotency-Key`` header value, or None when malformed."""
    match = KEY_RE.match(value.strip())
    return match.group(1) if match else None


def lease() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "API_IDEMPOTENCY_LEASE", DEFAULT_LEASE)))


@dataclass(frozen=True)
class Claimed:
    """This request owns the key: run it, then ``idempotency_finish`` or
    ``idempotency_release``."""

    record_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


class KeyReused(Exception):
    """The key was used for another request."""


class InProgress(Exception):
    """The first request under this key is still running."""


def idempotency_claim(*, owner: str, key: str, fingerprint: str) -> Claimed | Replay:
    """Claim ``key`` for this request, or return the stored response to replay; raises
    KeyReused or InProgress. Each step commits on its own (call it outside a transaction)."""
    for _attempt in range(5):
        now = timezone.now()
        try:
            with transaction.atomic():
                created = IdempotencyRecord.objects.create(
                    owner=owner,
                    key=key,
                    fingerprint=fingerprint,
                    locked_until=now + lease(),
                    expires_at=now + TTL,
                )
            return Claimed(created.pk)
        except IntegrityError:
            pass  # the key exists (maybe committed a moment ago by a concurrent request)
        record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if record is None:
            continue  # expired and purged meanwhile: claim it again
        if record.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=record.pk, expires_at__lte=now).delete()
            continue
        if record.fingerprint != fingerprint:
            raise KeyReused
        if record.status is not None:
            return Replay(record.status, dict(record.headers), bytes(record.body))
        if record.locked_until is not None and record.locked_until > now:
            raise InProgress
        # The first request's process died mid-way: its lease ran out, this retry takes over.
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, status__isnull=True, locked_until__lte=now
        ).update(locked_until=now + lease())
        if taken:
            return Claimed(record.pk)
    raise InProgress


def storable(response: HttpResponse) -> bool:
    """Whether a retry should get this response again rather than run the request again."""
    return not (
        response.status_code >= 500
        or response.status_code in NOT_STORED
        or response.has_header("Retry-After")
        or getattr(response, "streaming", False)
        or len(response.content) > MAX_STORED_BODY
    )


def idempotency_finish(*, claim: Claimed, response: HttpResponse) -> None:
    """Store the response of the claimed request (or free the key when a retry should run the
    request again)."""
    if not storable(response):
        idempotency_release(claim=claim)
        return
    IdempotencyRecord.objects.filter(pk=claim.record_id).update(
        status=response.status_code,
        headers={name: response[name] for name in STORED_HEADERS if response.has_header(name)},
        body=response.content,
        locked_until=None,
    )


def idempotency_release(*, claim: Claimed) -> None:
    """Free the key: the request will run again when retried."""
    IdempotencyRecord.objects.filter(pk=claim.record_id, status__isnull=True).delete()


def idempotency_records_purge() -> int:
    """Delete expired records; returns how many."""
    deleted, _by_model = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def request_fingerprint(*, method: str, path: str, content_type: str, body: Iterable[bytes]) -> str:
    """What makes two requests "the same" under one key: method, path with query, content type
    and body (given in chunks)."""
    digest = hashlib.sha256()
    for part in (method, path, content_type):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\x00")
    for chunk in body:
        digest.update(chunk)
    return digest.hexdigest()
