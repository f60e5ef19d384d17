"""The documents of a consignment, their versions, who reads them, and the dossier's state."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossier.types import CONTENTS, ORIGINS, SHARE_ROLE_CHOICES, TYPE_CHOICES, TYPES
from sesame.audit import audited

ORIGIN_CHOICES = [
    ("company", _("Company")),
    ("partner", _("Partner system")),
    ("system", _("Sesame")),
]


@audited()
class Dossier(models.Model):
    """A consignment's dossier: retention from its release, the legal hold, completeness."""

    consignment = models.OneToOneField(
        "tracking.Consignment", on_delete=models.CASCADE, primary_key=True, related_name="dossier"
    )
    released_on = models.DateField(_("released on"), null=True, blank=True)
    # DOSSIER.md §1: 31 December of the third year after the year of release.
    retain_until = models.DateField(_("kept until"), null=True, blank=True)
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    legal_hold_reason = models.CharField(_("reason for the hold"), max_length=300, blank=True)
    completed_at = models.DateTimeField(_("complete since"), null=True, blank=True)

    class Meta:
        verbose_name = _("dossier")
        constraints = [
            models.CheckConstraint(
                condition=Q(released_on__isnull=True, retain_until__isnull=True)
                | Q(released_on__isnull=False, retain_until__gt=models.F("released_on")),
                name="dossier_retention_after_release",
            ),
        ]

    def __str__(self) -> str:
        return f"dossier {self.consignment_id}"


@audited()
class Document(models.Model):
    """One version of one document of a consignment; the bytes are in the dossier storage.

    A document is (type, reference) in its consignment; each upload of other bytes adds a
    version that becomes the current one. Purged bytes leave the row, its hash and `purged_at`.
    """

    consignment = models.ForeignKey(
        "tracking.Consignment", on_delete=models.PROTECT, related_name="documents"
    )
    type = models.CharField(_("type"), max_length=30, choices=TYPE_CHOICES)
    reference = models.CharField(_("reference"), max_length=70, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    current = models.BooleanField(_("current"), default=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    origin = models.CharField(_("origin"), max_length=7, choices=ORIGIN_CHOICES)
    partner = models.CharField(_("partner"), max_length=10, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64)
    storage_name = models.CharField(max_length=300, blank=True)  # "" once purged
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    reason = models.CharField(_("reason for the new version"), max_length=500, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    uploaded_by = models.CharField(_("uploaded by"), max_length=254)
    # What made a system document (e.g. "release_note:<MRN>"): each is generated once.
    source_key = models.CharField(max_length=120, blank=True)
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("document")
        constraints = [
            models.UniqueConstraint(
                fields=["consignment", "type", "reference", "version"],
                name="dossier_document_version_unique",
            ),
            models.UniqueConstraint(
                fields=["consignment", "type", "reference"],
                condition=Q(current=True),
                name="dossier_document_one_current",
            ),
            models.UniqueConstraint(
                fields=["consignment", "source_key"],
                condition=~Q(source_key=""),
                name="dossier_document_generated_once",
            ),
            models.CheckConstraint(condition=Q(type__in=list(TYPES)), name="dossier_document_type"),
            models.CheckConstraint(condition=Q(origin__in=ORIGINS), name="dossier_document_origin"),
            models.CheckConstraint(
                condition=Q(origin="partner", partner__gt="")
                | (~Q(origin="partner") & Q(partner="")),
                name="dossier_document_partner_named",
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=list(CONTENTS)), name="dossier_document_content"
            ),
            models.CheckConstraint(
                condition=Q(size__gt=0) & Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="dossier_document_bytes",
            ),
            models.CheckConstraint(
                condition=Q(version=1, replaces__isnull=True)
                | (Q(version__gt=1, replaces__isnull=False) & ~Q(reason="")),
                name="dossier_document_version_chain",
            ),
            models.CheckConstraint(
                condition=Q(purged_at__isnull=True, storage_name__gt="")
                | Q(purged_at__isnull=False, storage_name=""),
                name="dossier_document_purged_has_no_bytes",
            ),
        ]
        indexes = [models.Index(fields=["consignment", "-uploaded_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.reference} v{self.version}"

    @property
    def type_label(self) -> str:
        return str(TYPES[self.type].label)

    @property
    def previewable(self) -> bool:
        content = CONTENTS.get(self.content_type)
        return content is not None and content.previewable and self.purged_at is None


@audited()
class Share(models.Model):
    """Read-only access of another company to a consignment and its dossier; ended by deletion."""

    consignment = models.ForeignKey(
        "tracking.Consignment", on_delete=models.CASCADE, related_name="shares"
    )
    company = models.ForeignKey(
        "sesame.Company", on_delete=models.CASCADE, related_name="dossier_shares"
    )
    role = models.CharField(_("role"), max_length=14, choices=SHARE_ROLE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["consignment", "company"], name="dossier_share_once"),
            models.CheckConstraint(
                condition=Q(role__in=[code for code, _label in SHARE_ROLE_CHOICES]),
                name="dossier_share_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consignment_id} → {self.company_id} ({self.role})"


class AccessAction(models.TextChoices):
    DOWNLOAD = "download", _("Download")
    ZIP = "zip", _("Dossier export (ZIP)")


# Not @audited(): append-only, it is itself the record of who read what.
class AccessLog(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="access_log")
    action = models.CharField(max_length=8, choices=AccessAction.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.CharField(max_length=254)
    company_eori = models.CharField(max_length=17, blank=True)
    partner = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["document", "-at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AccessAction.values), name="dossier_access_action"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.document_id} by {self.by}"


class GenerationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


# Not @audited(): the outbox of system documents, itself the record of each generation.
class Generation(models.Model):
    """A system document to generate, written with the tracking event that calls for it.

    One row per document (`key`); a worker generates it and, in the same transaction, writes
    the Document and marks the row done. A row left pending (worker killed) is picked up again
    by the sweep."""

    consignment = models.ForeignKey(
        "tracking.Consignment", on_delete=models.CASCADE, related_name="dossier_generations"
    )
    type = models.CharField(max_length=30, choices=TYPE_CHOICES)
    key = models.CharField(max_length=120)
    event = models.ForeignKey("tracking.Event", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=7, choices=GenerationStatus.choices, default=GenerationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    document = models.OneToOneField(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["consignment", "key"], name="dossier_generation_once"),
            models.CheckConstraint(
                condition=Q(status__in=GenerationStatus.values), name="dossier_generation_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="dossier_generation_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
