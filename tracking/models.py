"""A consignment (one shipment through the border) and its formality events."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sesame.audit import audited
from sesame.models import BorderControlPost, Company, Port
from tracking.identifiers import validate_ched_references, validate_container_numbers
from tracking.kinds import CATEGORY_CHOICES, KIND_CHOICES


class TransportDocumentType(models.TextChoices):
    BILL_OF_LADING = "bl", _("Bill of lading")
    AIR_WAYBILL = "awb", _("Air waybill")


class Status(models.TextChoices):
    """A summary of the timeline, cached on the row for filtering; the events are the truth."""

    EXPECTED = "expected", _("Expected")
    IN_PROGRESS = "in_progress", _("In progress")
    BLOCKED = "blocked", _("Blocked")
    RELEASED = "released", _("Released")
    EXITED = "exited", _("Exited")


@audited()
class Consignment(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="consignments")
    reference = models.CharField(_("reference"), max_length=35)
    container_numbers = ArrayField(
        models.CharField(max_length=11),
        default=list,
        blank=True,
        validators=[validate_container_numbers],
        verbose_name=_("container numbers"),
    )
    transport_document_type = models.CharField(
        _("transport document type"), max_length=3, choices=TransportDocumentType.choices
    )
    transport_document_number = models.CharField(_("transport document number"), max_length=35)
    port = models.CharField(_("port"), max_length=5, choices=Port.choices)
    post = models.ForeignKey(
        BorderControlPost,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consignments",
        verbose_name=_("border control post"),
    )
    expected_arrival = models.DateTimeField(_("expected arrival"))
    categories = ArrayField(
        models.CharField(max_length=20, choices=CATEGORY_CHOICES),
        default=list,
        blank=True,
        verbose_name=_("goods categories"),
    )
    ched_references = ArrayField(
        models.CharField(max_length=30),
        default=list,
        blank=True,
        validators=[validate_ched_references],
        verbose_name=_("CHED references"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.EXPECTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-expected_arrival", "-id"]
        verbose_name = _("consignment")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "reference"],
                name="consignment_reference_unique",
                # The API's 409 code (sesame.api.errors): the database decides, races included.
                violation_error_code="consignment_reference_taken",
                violation_error_message=_("A consignment with this reference already exists."),
            ),
            models.CheckConstraint(
                condition=Q(port__in=Port.values), name="consignment_port_known"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-expected_arrival"]),
            models.Index(fields=["post", "-expected_arrival"]),
        ]

    def __str__(self) -> str:
        return self.reference


@audited()
class DeclarationLink(models.Model):
    """A customs declaration this consignment is declared under (known by id, MRN or reference)."""

    consignment = models.ForeignKey(
        Consignment, on_delete=models.CASCADE, related_name="declaration_links"
    )
    declaration_id = models.CharField(max_length=64, blank=True)
    mrn = models.CharField("MRN", max_length=18, blank=True)
    client_reference = models.CharField(_("client reference"), max_length=64, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(declaration_id="") | ~Q(mrn="") | ~Q(client_reference=""),
                name="declarationlink_identified",
            ),
        ]
        indexes = [
            models.Index(fields=["declaration_id"]),
            models.Index(fields=["mrn"]),
            models.Index(fields=["client_reference"]),
        ]

    def __str__(self) -> str:
        return self.mrn or self.declaration_id or self.client_reference


# Not @audited(): the event table is append-only and is itself the record of what happened.
class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    consignment = models.ForeignKey(
        Consignment, on_delete=models.CASCADE, related_name="timeline_events"
    )  # `events` is taken by the audit trail (pghistory)
    kind = models.CharField(_("kind"), max_length=30, choices=KIND_CHOICES)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=20)
    source_event_id = models.CharField(max_length=100)
    author = models.CharField(_("author"), max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_event_id"], name="event_source_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["consignment", "occurred_at"]),
            models.Index(fields=["consignment", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d %H:%M}"
