"""Reads of the inbox and of the delivery log."""

from typing import Any

from django.db.models import QuerySet

from notifications.kinds import INBOX
from notifications.models import Delivery


def inbox_for_user(*, user: Any) -> QuerySet[Delivery]:
    """The user's own in-app notifications, newest first, with their event and consignment."""
    return (
        Delivery.objects.filter(user=user, channel=INBOX)
        .select_related("event__consignment", "consignment")
        .order_by("-created_at", "-id")
    )


def unread_count(*, user: Any) -> int:
    return Delivery.objects.filter(user=user, channel=INBOX, read_at__isnull=True).count()
