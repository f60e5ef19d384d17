"""What the API layer stores for itself (imported by ``sesame.models``)."""

from django.db import models


class IdempotencyRecord(models.Model):
    """A POST or PATCH sent with an ``Idempotency-Key``: running (``status`` null, owned until
    ``locked_until``), then its response, replayed for the same key and body until
    ``expires_at``. Not business data (the response replays what the audit trail recorded), so
    not audited."""

    owner = models.CharField(max_length=60)  # "company:<id>", "partner:<name>"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key} ({self.status or 'running'})"
