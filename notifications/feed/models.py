"""One row per event a company may see, in the order the company's transactions committed."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from notifications.feed.types import TYPE_CHOICES
from sesame.models import Company


# Not @audited(): the log is append-only and is itself the record of what happened.
class CompanyEvent(models.Model):
    """An event of the change feed (and of the webhooks), written in the event's transaction.

    Rows of one company are inserted under tracking's per-company advisory lock, held to the
    end of the transaction, so they commit in the order of their ids: a reader that has seen an
    id of a company has seen every lower one of it (``notifications.feed.services``)."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="feed_events")
    type = models.CharField(_("type"), max_length=60, choices=TYPE_CHOICES)
    subject_type = models.CharField(max_length=20)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("company event")
        indexes = [models.Index(fields=["company", "id"], name="feed_company_id")]

    def __str__(self) -> str:
        return f"evt_{self.pk} {self.type}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.pk}"

    @property
    def subject(self) -> str:
        """The ordering unit of webhook deliveries: one object."""
        return f"{self.subject_type}:{self.subject_id}"
