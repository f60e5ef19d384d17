"""The GUN's data: declarations as lodged, partner documents with their balances, GUN runs,
the ledger of reservations and imputations, controls, check modes and partner links.

Models hold data and invariants only; workflows live in ``gun.services``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from sesame.audit import audited

QUANTITY: dict[str, Any] = {"max_digits": 15, "decimal_places": 3}


# --- declarations ---------------------------------------------------------------------------


class DeclarationStatus(models.TextChoices):
    ANTICIPATED = "anticipated", _("Anticipated")
    VALIDATED = "validated", _("Validated")
    RELEASED = "released", _("Released")
    CANCELLED = "cancelled", _("Cancelled")


class ControlStatus(models.TextChoices):
    NONE = "none", _("No control")
    OPEN = "open", _("Control open")
    JUSTIFIED = "justified", _("Justified")
    UNJUSTIFIED = "unjustified", _("Unjustified")


@audited()
class Declaration(models.Model):
    """A customs import declaration (DAU) lodged by a company, checked by the GUN."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey(
        "sesame.Company", on_delete=models.PROTECT, related_name="declarations"
    )
    client_reference = models.CharField(_("client reference"), max_length=70)
    importer_eori = models.CharField(_("importer EORI"), max_length=17)
    special_mentions = ArrayField(
        models.CharField(max_length=10), default=list, blank=True, verbose_name=_("mentions")
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=DeclarationStatus.choices,
        default=DeclarationStatus.ANTICIPATED,
    )
    mrn = models.CharField("MRN", max_length=18, unique=True, null=True, blank=True)
    control_required = models.BooleanField(_("control required"), default=False)
    control_status = models.CharField(
        _("control"), max_length=12, choices=ControlStatus.choices, default=ControlStatus.NONE
    )
    post = models.ForeignKey(
        "sesame.BorderControlPost",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        verbose_name=_("border control post"),
    )
    # The last GUN run, for every response and list without a query per declaration.
    last_run = models.ForeignKey(
        "GunRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # GUN_RULES §4: after an unjustified control, a rectification passing every check lifts the
    # release block (the agent's decision stays recorded as unjustified).
    rectified_after_control = models.BooleanField(default=False)
    # Bumped by every service that changes the declaration (optimistic checks in pages).
    version = models.PositiveIntegerField(default=1)
    lodged_by = models.CharField(_("lodged by"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("declaration")
        indexes = [
            models.Index(fields=["company", "status"]),
            models.Index(fields=["control_status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="anticipated") | Q(status="cancelled") | Q(mrn__isnull=False),
                name="gun_declaration_mrn_once_validated",
            ),
            models.CheckConstraint(
                condition=Q(control_required=True) | Q(control_status="none"),
                name="gun_declaration_control_only_when_required",
            ),
        ]

    def __str__(self) -> str:
        return self.mrn or f"{self.client_reference} ({self.status})"

    @property
    def release_blocked(self) -> bool:
        """GUN_RULES §1, §4: an open or unjustified control blocks release (BAE)."""
        if self.control_status == ControlStatus.OPEN:
            return True
        return self.control_status == ControlStatus.UNJUSTIFIED and not self.rectified_after_control


@audited()
class DeclarationItem(models.Model):
    """One item (article) of a declaration."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="items")
    item_number = models.PositiveSmallIntegerField(_("item number"))
    commodity_code = models.CharField(_("commodity code"), max_length=10)
    origin_country = models.CharField(_("country of origin"), max_length=2)
    net_mass_kg = models.DecimalField(_("net mass (kg)"), **QUANTITY)

    class Meta:
        ordering = ["item_number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration", "item_number"], name="gun_item_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(item_number__gte=1) & Q(item_number__lte=999),
                name="gun_item_number_range",
            ),
            models.CheckConstraint(
                condition=Q(commodity_code__regex=r"^[0-9]{8}([0-9]{2})?$"),
                name="gun_item_commodity_code_cn8_or_taric10",
            ),
            models.CheckConstraint(
                condition=Q(net_mass_kg__gte=0), name="gun_item_net_mass_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_number}: {self.commodity_code}"


@audited()
class ItemDocument(models.Model):
    """One box-44 document of an item, with its optional imputation sheet (ten fields).

    ``has_imputation`` tells "no sheet" (F041) from "a sheet whose fields are all empty".
    """

    item = models.ForeignKey(DeclarationItem, on_delete=models.CASCADE, related_name="documents")
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.CharField(_("document code"), max_length=4)
    reference = models.CharField(_("reference"), max_length=70)
    date = models.DateField(_("date"), null=True, blank=True)
    has_imputation = models.BooleanField(default=False)
    imputation_line_number = models.IntegerField(_("line number"), null=True, blank=True)
    imputation_product_reference = models.CharField(
        _("product reference"), max_length=70, null=True, blank=True
    )
    imputation_trade_name = models.CharField(_("trade name"), max_length=200, null=True, blank=True)
    imputation_quantity = models.DecimalField(_("quantity"), null=True, blank=True, **QUANTITY)
    imputation_unit = models.CharField(_("imputation unit"), max_length=10, null=True, blank=True)
    imputation_provisional_weight = models.DecimalField(
        _("provisional weight"), null=True, blank=True, **QUANTITY
    )
    imputation_weight_unit = models.CharField(
        _("weight unit"), max_length=10, null=True, blank=True
    )
    imputation_amount = models.DecimalField(
        _("amount"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    imputation_currency = models.CharField(_("currency"), max_length=3, null=True, blank=True)
    imputation_net_mass_kg = models.DecimalField(
        _("net mass (kg)"), null=True, blank=True, **QUANTITY
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "position"], name="gun_item_document_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.reference}"


# --- partner documents and their balances ---------------------------------------------------


class PartnerDocumentStatus(models.TextChoices):
    VALID = "VAL", _("Valid")
    EXHAUSTED = "EPU", _("Exhausted")
    CANCELLED = "ANN", _("Cancelled")
    SUSPENDED = "SUS", _("Suspended")


class GunPartner(models.TextChoices):
    SEMAE = "SEMAE", "SEMAE"
    TRACES = "TRACES", "TRACES-NT"
    CITES = "CITES", "CITES"


@audited()
class PartnerDocument(models.Model):
    """A document published by a partner system (DI, CHED, CITES permit).

    Single-use documents are taken whole: ``used_by`` names the one declaration holding it
    (reserved or imputed), so two declarations can never hold it at once.
    """

    partner = models.CharField(_("partner"), max_length=10, choices=GunPartner.choices)
    code = models.CharField(_("document code"), max_length=4)
    reference = models.CharField(_("reference"), max_length=35)
    status = models.CharField(
        _("status"),
        max_length=3,
        choices=PartnerDocumentStatus.choices,
        default=PartnerDocumentStatus.VALID,
    )
    holder_eori = models.CharField(_("holder EORI"), max_length=17)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    single_use = models.BooleanField(default=False)
    used_by = models.ForeignKey(
        Declaration,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="single_use_documents",
    )
    used_state = models.CharField(
        max_length=10,
        choices=[("", "-"), ("reserved", "reserved"), ("imputed", "imputed")],
        default="",
        blank=True,
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "reference"]
        verbose_name = _("partner document")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "reference"], name="gun_partner_document_unique"
            ),
            models.CheckConstraint(
                condition=(Q(used_by__isnull=True) & Q(used_state=""))
                | (Q(used_by__isnull=False) & Q(single_use=True) & ~Q(used_state="")),
                name="gun_partner_document_used_by_single_use",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.reference}"


# Balance moves (``reserved``, ``imputed``) are recorded by the ledger, the append-only audit
# record of quantities (GUN_RULES §5): the update trigger fires only when another column changes
# (a partner republishing the line), not once per line on every validation, release or cancel.
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange(exclude=["reserved", "imputed"])),
    pghistory.DeleteEvent(),
)
class PartnerDocumentLine(models.Model):
    """One line of a partner document and its balance.

    The database enforces GUN_RULES §5: ``reserved >= 0``, ``imputed >= 0`` and
    ``reserved + imputed <= quantity`` (the initial quantity) at every instant.
    """

    document = models.ForeignKey(PartnerDocument, on_delete=models.CASCADE, related_name="lines")
    line = models.PositiveIntegerField(_("line"))
    commodity_code = models.CharField(_("tariff number"), max_length=10, blank=True)
    origin_country = models.CharField(_("country of production"), max_length=2, blank=True)
    quantity = models.DecimalField(_("initial quantity"), **QUANTITY)
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    reserved = models.DecimalField(_("reserved"), default=0, **QUANTITY)
    imputed = models.DecimalField(_("imputed"), default=0, **QUANTITY)

    class Meta:
        ordering = ["document_id", "line"]
        constraints = [
            models.UniqueConstraint(fields=["document", "line"], name="gun_partner_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="gun_line_initial_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="gun_line_reserved_gte_0"),
            models.CheckConstraint(condition=Q(imputed__gte=0), name="gun_line_imputed_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("quantity") - F("imputed")),
                name="gun_line_reserved_plus_imputed_lte_initial",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document} line {self.line}"

    @property
    def available(self) -> Decimal:
        """What no declaration holds: initial - reserved - imputed."""
        return self.quantity - self.reserved - self.imputed


# No trigger: a Reservation row is derived from the ledger's open reserve entries, written in
# the same transaction as them, and the ledger (append-only) is its audit record. The event model
# is kept (a manual tracker) so the history recorded before stays readable.
@pghistory.track(pghistory.ManualEvent("manual"))
class Reservation(models.Model):
    """What a declaration currently holds on a reusable document line (the ledger's balance).

    The sum of a line's reservations is the line's ``reserved``; the ledger keeps the history.
    """

    declaration = models.ForeignKey(
        Declaration, on_delete=models.PROTECT, related_name="reservations"
    )
    line = models.ForeignKey(
        PartnerDocumentLine, on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.DecimalField(**QUANTITY)

    class Meta:
        ordering = ["line_id", "declaration_id"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "line"], name="gun_reservation_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="gun_reservation_quantity_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} on {self.line_id} for {self.declaration_id}"


# --- GUN runs --------------------------------------------------------------------------------


class Stage(models.TextChoices):
    ANTICIPATION = "anticipation", _("Anticipation")
    VALIDATION = "validation", _("Validation")
    RECTIFICATION = "rectification", _("Rectification")


class RunOutcome(models.TextChoices):
    INFORMATIVE = "informative", _("Informative")
    ACCEPTED = "accepted", _("Accepted")
    ACCEPTED_WITH_CONTROL = "accepted_with_control", _("Accepted with control")
    REJECTED = "rejected", _("Rejected")


class GunRun(models.Model):
    """One run of the GUN checks on a declaration. Append-only: it is its own audit record."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="runs")
    stage = models.CharField(max_length=14, choices=Stage.choices)
    outcome = models.CharField(max_length=21, choices=RunOutcome.choices)
    control_required = models.BooleanField(default=False)
    by = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["declaration", "-id"])]

    def __str__(self) -> str:
        return f"{self.stage}: {self.outcome}"


class GunMessage(models.Model):
    """One message of a GUN run, in the engine's order (``order``)."""

    run = models.ForeignKey(GunRun, on_delete=models.CASCADE, related_name="messages")
    order = models.PositiveIntegerField()
    code = models.CharField(max_length=4)
    item = models.PositiveSmallIntegerField()
    document_code = models.CharField(max_length=4, null=True, blank=True)
    reference = models.CharField(max_length=70, null=True, blank=True)
    document_index = models.PositiveSmallIntegerField(null=True, blank=True)
    passive = models.BooleanField(default=False)
    forceable = models.BooleanField(default=False)

    class Meta:
        ordering = ["run_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "order"], name="gun_message_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} item {self.item}"


# --- the ledger ------------------------------------------------------------------------------


class LedgerPhase(models.TextChoices):
    RESERVE = "reserve", _("Reservation")
    RELEASE = "release", _("Release of a reservation")
    IMPUTE = "impute", _("Imputation")


class PropagationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class LedgerEntry(models.Model):
    """One movement on a partner document (GUN_RULES §5). Append-only: it is the audit record.

    The movement fields never change after insert; only the propagation fields do (state,
    attempts, sent_at, last_error). ``line`` is null for a single-use document (taken whole).
    """

    declaration = models.ForeignKey(
        Declaration, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    item_number = models.PositiveSmallIntegerField(null=True, blank=True)
    # Null for a document of a remote (http) partner: it is named by code and reference.
    document = models.ForeignKey(
        PartnerDocument,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    document_code = models.CharField(max_length=4, default="")
    reference = models.CharField(max_length=35, default="")
    line_number = models.PositiveIntegerField(null=True, blank=True)
    line = models.ForeignKey(
        PartnerDocumentLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    partner = models.CharField(max_length=10, choices=GunPartner.choices)
    quantity = models.DecimalField(**QUANTITY)
    phase = models.CharField(max_length=7, choices=LedgerPhase.choices)
    idempotency_key = models.CharField(max_length=100, unique=True)
    who = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(
        max_length=7, choices=PropagationState.choices, default=PropagationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A release or imputation closes one reservation, once (the database refuses a second).
    closes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="closed_by"
    )
    # Set when the entry was written by a validation forced through T001: the sweep sends it.
    held = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(
                fields=["partner", "id"],
                name="gun_ledger_pending_idx",
                condition=~Q(state="sent"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="gun_ledger_quantity_gte_0"),
            models.CheckConstraint(
                condition=Q(state="sent", sent_at__isnull=False) | ~Q(state="sent"),
                name="gun_ledger_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phase} {self.quantity} {self.document}"


# --- controls, check modes, partner links ----------------------------------------------------


class ControlDecision(models.TextChoices):
    OPEN = "open", _("Open")
    JUSTIFIED = "justified", _("Justified")
    UNJUSTIFIED = "unjustified", _("Unjustified")


@audited()
class Control(models.Model):
    """A customs control of a declaration forced with 73000 (GUN_RULES §4)."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="controls")
    run = models.ForeignKey(
        GunRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="controls"
    )
    decision = models.CharField(
        _("decision"), max_length=12, choices=ControlDecision.choices, default="open"
    )
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gun_controls",
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration"],
                condition=Q(decision="open"),
                name="gun_control_one_open_per_declaration",
            ),
            models.CheckConstraint(
                condition=Q(decision="open") | Q(decided_at__isnull=False),
                name="gun_control_decided_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration}: {self.decision}"


class CheckModeChoice(models.TextChoices):
    LIVE = "live", _("Live")
    PASSIVE = "passive", _("Passive (recorded, never blocking)")


@audited()
class CheckMode(models.Model):
    """How a check runs for a profile: ``live`` (default) or ``passive`` for a rollout."""

    profile_code = models.CharField(_("document code"), max_length=4)
    check_code = models.CharField(_("check"), max_length=4)
    mode = models.CharField(
        _("mode"), max_length=7, choices=CheckModeChoice.choices, default="live"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["profile_code", "check_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile_code", "check_code"], name="gun_check_mode_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_code}/{self.check_code}: {self.mode}"


class AdapterKind(models.TextChoices):
    LOCAL = "local", _("Local (documents published into the portal)")
    HTTP = "http", _("Remote HTTP endpoint")


@audited()
class PartnerLink(models.Model):
    """How the GUN reaches one partner system, and whether the link is up (since when).

    A partner without a row uses the ``local`` adapter.
    """

    partner = models.CharField(_("partner"), max_length=10, choices=GunPartner.choices, unique=True)
    kind = models.CharField(
        _("adapter"), max_length=5, choices=AdapterKind.choices, default="local"
    )
    base_url = models.URLField(_("base URL"), blank=True)
    connect_timeout = models.FloatField(_("connect time-out (s)"), default=3.0)
    read_timeout = models.FloatField(_("read time-out (s)"), default=10.0)
    up = models.BooleanField(_("up"), default=True)
    since = models.DateTimeField(_("since"), auto_now_add=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["partner"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="local") | ~Q(base_url=""), name="gun_partner_link_http_has_url"
            ),
            models.CheckConstraint(
                condition=Q(connect_timeout__gt=0) & Q(read_timeout__gt=0),
                name="gun_partner_link_timeouts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} ({self.kind}, {'up' if self.up else 'down'})"


# --- customs representation mandates ---------------------------------------------------------


class MandateKind(models.TextChoices):
    DIRECT = "direct", _("Direct representation")
    INDIRECT = "indirect", _("Indirect representation")


@audited()
class Mandate(models.Model):
    """A customs representation mandate: the importer (``grantor``) lets the company whose EORI
    is ``representative_eori`` declare for it, directly or indirectly, from ``valid_from`` until
    ``valid_until`` (inclusive, open-ended when empty), until revoked.

    The representative is named by EORI, not by row: a mandate may be granted before the
    representative joins the portal, and granting one reveals nothing of who has joined.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grantor = models.ForeignKey(
        "sesame.Company", on_delete=models.PROTECT, related_name="mandates_granted"
    )
    representative_eori = models.CharField(_("representative EORI"), max_length=17)
    kind = models.CharField(_("representation"), max_length=8, choices=MandateKind.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    granted_by = models.CharField(_("granted by"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.CharField(_("revoked by"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("mandate")
        indexes = [models.Index(fields=["representative_eori", "grantor"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="gun_mandate_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantor_id} -> {self.representative_eori} ({self.kind})"
