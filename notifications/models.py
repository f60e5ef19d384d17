"""Who wants to hear what on which channel, and every delivery (the outbox) with its attempts."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notifications.kinds import CHANNEL_LABELS, KIND_CHOICES
from sesame.audit import audited
from sesame.identifiers import validate_e164

CHANNEL_CHOICES = list(CHANNEL_LABELS.items())


@audited()
class Profile(models.Model):
    """A person's verified phone number and SMS quiet hours (Europe/Paris)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_profile"
    )
    phone = models.CharField(
        _("phone number"), max_length=16, blank=True, validators=[validate_e164]
    )
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)

    class Meta:
        constraints = [
            # A verified phone is a phone.
            models.CheckConstraint(
                condition=Q(phone_verified_at__isnull=True) | ~Q(phone=""),
                name="notify_profile_verified_has_phone",
            ),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="notify_profile_quiet_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.phone or '-'}"

    @property
    def phone_verified(self) -> bool:
        return bool(self.phone and self.phone_verified_at)


class PhoneVerification(models.Model):
    """A 6-digit code sent by SMS to prove a phone number; only its hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_verifications"
    )
    phone = models.CharField(max_length=16, validators=[validate_e164])
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.phone}"


@audited()
class Preference(models.Model):
    """An explicit choice of one person for one kind on one channel (absent: the role default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=KIND_CHOICES)
    channel = models.CharField(max_length=5, choices=CHANNEL_CHOICES)
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notify_pref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind}/{self.channel}={self.enabled}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    QUEUED = "queued", _("Accepted by the provider")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")


# Not @audited(): written once by the notifications app, the record of what people were told.
class Notice(models.Model):
    """Something people are notified of that is not a tracking event (an appointment booked,
    moved, a reminder…), frozen when it happened: its texts per language and the attachments
    an email carries (e.g. an .ics). `key` makes it idempotent: the same key twice is one
    notice, hence one delivery per person and channel."""

    key = models.CharField(max_length=150, unique=True)
    consignment = models.ForeignKey(
        "tracking.Consignment", on_delete=models.CASCADE, related_name="notices"
    )
    occurred_at = models.DateTimeField()
    texts = models.JSONField(default=dict)  # {"fr": {"event": …, "detail": …}, "en": …}
    attachments = models.JSONField(default=list)  # [{"filename", "content_type", "content"}]
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


# Not @audited(): the outbox and its attempts are themselves the record of every send.
class Delivery(models.Model):
    """One notification of one event to one person on one channel (the outbox row).

    Written in the transaction that records the event; a worker claims it (status `sending`
    with a lease), calls the provider, stores the provider id, then follows the provider's
    status callbacks. Inbox rows are delivered at once and carry `read_at`.
    """

    event = models.ForeignKey(
        "tracking.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    notice = models.ForeignKey(
        Notice, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=5, choices=CHANNEL_CHOICES)
    kind = models.CharField(max_length=30, choices=KIND_CHOICES)
    address = models.CharField(max_length=254, blank=True)  # phone or email when written
    language = models.CharField(max_length=2, default="fr")
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    not_before = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_id = models.CharField(max_length=64, blank=True)
    provider_status = models.CharField(max_length=20, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "channel"], name="notify_delivery_once"
            ),
            models.UniqueConstraint(
                fields=["notice", "user", "channel"], name="notify_delivery_notice_once"
            ),
            models.CheckConstraint(
                condition=Q(event__isnull=False, notice__isnull=True)
                | Q(event__isnull=True, notice__isnull=False),
                name="notify_delivery_one_source",
            ),
            models.UniqueConstraint(
                fields=["provider_id"],
                condition=~Q(provider_id=""),
                name="notify_delivery_provider_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="notify_delivery_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "not_before"],
                condition=Q(status__in=["pending", "sending"]),
                name="notify_delivery_due",
            ),
            models.Index(fields=["user", "channel", "-created_at"], name="notify_inbox"),
            models.Index(
                fields=["user"],
                condition=Q(channel="inbox", read_at__isnull=True),
                name="notify_inbox_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id} ({self.channel}, {self.status})"

    @property
    def source(self) -> Any:
        """What this delivery tells: the tracking event or the notice (both have
        `consignment` and `occurred_at`)."""
        return self.event if self.event_id else self.notice


class AttemptOutcome(models.TextChoices):
    OK = "ok", _("Accepted")
    TRANSIENT = "transient", _("Transient error")
    PERMANENT = "permanent", _("Permanent error")
    ADOPTED = "adopted", _("Found at the provider (not sent again)")


class Attempt(models.Model):
    """One call to a provider for a delivery (append-only)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="notify_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {self.outcome}"


# The company event log and the webhooks live in their own modules (notifications/feed,
# notifications/webhooks); imported here so that Django registers their models.
from notifications.feed.models import CompanyEvent  # noqa: E402, F401
from notifications.webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
