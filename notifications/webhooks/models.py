"""Webhook endpoints, their signing secrets, the outbox of deliveries and its attempts log."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notifications.feed.models import CompanyEvent
from sesame.audit import audited
from sesame.models import Company


@audited()
class WebhookEndpoint(models.Model):
    """A URL of a company told of the event types it subscribed to.

    The secrets are not here (``WebhookSecret``, encrypted, never audited in clear);
    ``secret_rotated_at`` puts each rotation in the audit trail."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=60), verbose_name=_("event types"))
    enabled = models.BooleanField(_("enabled"), default=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("webhook endpoint")
        constraints = [
            models.CheckConstraint(condition=~Q(event_types=[]), name="webhook_endpoint_has_types"),
        ]
        indexes = [models.Index(fields=["company", "enabled"], name="webhook_endpoint_company")]

    def __str__(self) -> str:
        return f"{self.url} ({self.company_id})"


# Not @audited(): it holds the secret (encrypted); the endpoint records each rotation.
class WebhookSecret(models.Model):
    """A signing secret of an endpoint. The current one has no ``expires_at``; a rotated one
    keeps signing beside it until ``expires_at`` (the overlap), so receivers can switch."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    ciphertext = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint"],
                condition=Q(expires_at__isnull=True),
                name="webhook_secret_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"secret of {self.endpoint_id} (until {self.expires_at or '-'})"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Failed for good")


# Not @audited(): the outbox and its attempts are themselves the record of every send.
class WebhookDelivery(models.Model):
    """One event to one endpoint (the outbox row), written in the event's transaction.

    A worker claims it (``sending`` with a lease) only when no earlier delivery of the same
    subject to the same endpoint is still pending or sending: deliveries of one subject reach
    an endpoint in the order of their events. ``retries`` counts failures since the last
    success or replay (it picks the back-off); ``attempts`` counts every call."""

    event = models.ForeignKey(
        CompanyEvent, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    subject = models.CharField(max_length=90)
    status = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    retries = models.PositiveSmallIntegerField(default=0)
    replays = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-event_id", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryState.values), name="webhook_delivery_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "not_before"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhook_delivery_due",
            ),
            models.Index(
                fields=["endpoint", "subject", "event"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhook_delivery_open",
            ),
            models.Index(
                fields=["endpoint", "-event"],
                name="webhook_delivery_log",
            ),
        ]

    def __str__(self) -> str:
        return f"evt_{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One call to an endpoint (append-only): the delivery log."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_set"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {self.status_code or self.error[:30]}"
