"""Private calendar subscription URLs: a revocable token per person (only its hash kept)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from appointments.models import FeedToken


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def feed_token_create(*, user: Any, company: Any = None, post: Any = None) -> tuple[FeedToken, str]:
    """A new subscription token for `user`: the company's appointments (operators) or the
    post's agenda (agents). The person's previous token of the same scope is revoked. The
    clear token is returned once."""
    if (company is None) == (post is None):
        raise ValueError("a feed is of a company or of a post")
    FeedToken.objects.filter(user=user, company=company, post=post, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token = secrets.token_urlsafe(32)
    feed = FeedToken.objects.create(
        user=user, company=company, post=post, token_hash=token_hash(token)
    )
    return feed, token


@transaction.atomic
def feed_token_revoke(*, user: Any, pk: int) -> bool:
    """Revoke one of the person's own tokens; False when it is not theirs or already revoked."""
    return bool(
        FeedToken.objects.filter(pk=pk, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )
