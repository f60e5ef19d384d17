"""GUN admin: check modes for a passive rollout, and read views of the GUN's records.

The ledger, runs and their messages are append-only records: read-only here.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gun.engine import NEVER_PASSIVE, PROFILES
from gun.models import (
    CheckMode,
    CheckModeChoice,
    Control,
    Declaration,
    DeclarationItem,
    GunMessage,
    GunRun,
    ItemDocument,
    LedgerEntry,
    PartnerDocument,
    PartnerDocumentLine,
    PartnerLink,
)
from gun.services import check_mode_set


def _profile_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {profile.name}") for code, profile in PROFILES.items()]


def _check_choices() -> list[tuple[str, str]]:
    codes = sorted({check for profile in PROFILES.values() for check in profile.checks})
    return [(code, code) for code in codes]


class CheckModeForm(forms.ModelForm):
    """Any check of any profile may be set passive; the pair must exist in the engine."""

    profile_code = forms.ChoiceField(label=_("document code"), choices=_profile_choices)
    check_code = forms.ChoiceField(label=_("check"), choices=_check_choices)

    class Meta:
        model = CheckMode
        fields = ["profile_code", "check_code", "mode"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        profile = PROFILES.get(data.get("profile_code", ""))
        check = data.get("check_code")
        if profile is not None and check and check not in profile.checks:
            self.add_error(
                "check_code",
                _("Profile %(profile)s has no check %(check)s; its checks: %(checks)s.")
                % {"profile": profile.code, "check": check, "checks": ", ".join(profile.checks)},
            )
        elif data.get("mode") == CheckModeChoice.PASSIVE and check in NEVER_PASSIVE:
            self.add_error(
                "check_code",
                _("%(check)s protects the quantities of the ledger: it always stays live.")
                % {"check": check},
            )
        return data


@admin.register(CheckMode)
class CheckModeAdmin(admin.ModelAdmin):
    form = CheckModeForm
    list_display = ["profile_code", "check_code", "mode", "updated_at", "updated_by"]
    list_filter = ["mode", "profile_code"]
    readonly_fields = ["updated_at", "updated_by"]

    def save_model(self, request: HttpRequest, obj: CheckMode, form: Any, change: bool) -> None:
        # Through the service, which owns the rules (the form has checked them already).
        saved = check_mode_set(
            profile_code=obj.profile_code, check_code=obj.check_code, mode=obj.mode, by=request.user
        )
        obj.pk = saved.pk


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the GUN services only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ItemInline(ReadOnlyInline):
    model = DeclarationItem
    fields = ["item_number", "commodity_code", "origin_country", "net_mass_kg"]


class ControlInline(ReadOnlyInline):
    model = Control
    fields = readonly_fields = ("decision", "agent", "comment", "opened_at", "decided_at")


@admin.register(Declaration)
class DeclarationAdmin(ReadOnlyAdmin):
    list_display = [
        "client_reference",
        "mrn",
        "company",
        "status",
        "control_status",
        "post",
        "created_at",
    ]
    list_filter = ["status", "control_status", "post"]
    search_fields = ["mrn", "client_reference", "importer_eori", "company__name"]
    list_select_related = ["company", "post"]
    inlines = [ItemInline, ControlInline]


@admin.register(ItemDocument)
class ItemDocumentAdmin(ReadOnlyAdmin):
    list_display = ["code", "reference", "item", "has_imputation", "imputation_quantity"]
    search_fields = ["reference"]
    list_select_related = ["item"]


class PartnerDocumentLineInline(ReadOnlyInline):
    model = PartnerDocumentLine
    fields = readonly_fields = (
        "line",
        "commodity_code",
        "origin_country",
        "quantity",
        "unit",
        "reserved",
        "imputed",
    )


@admin.register(PartnerDocument)
class PartnerDocumentAdmin(ReadOnlyAdmin):
    list_display = ["code", "reference", "partner", "status", "holder_eori", "single_use"]
    list_filter = ["partner", "code", "status"]
    search_fields = ["reference", "holder_eori"]
    inlines = [PartnerDocumentLineInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "phase",
        "partner",
        "document_code",
        "reference",
        "quantity",
        "declaration",
        "who",
        "at",
        "state",
        "held",
    ]
    list_filter = ["phase", "partner", "state", "held"]
    search_fields = ["reference", "idempotency_key", "declaration__mrn"]
    list_select_related = ["declaration"]


class GunMessageInline(ReadOnlyInline):
    model = GunMessage
    fields = readonly_fields = (
        "order",
        "code",
        "item",
        "document_code",
        "reference",
        "forceable",
        "passive",
    )


@admin.register(GunRun)
class GunRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "declaration", "stage", "outcome", "control_required", "by", "at"]
    list_filter = ["stage", "outcome", "control_required"]
    search_fields = ["declaration__mrn", "declaration__client_reference"]
    list_select_related = ["declaration"]
    inlines = [GunMessageInline]


@admin.register(Control)
class ControlAdmin(ReadOnlyAdmin):
    list_display = ["declaration", "decision", "agent", "opened_at", "decided_at"]
    list_filter = ["decision"]
    list_select_related = ["declaration", "agent"]


@admin.register(PartnerLink)
class PartnerLinkAdmin(admin.ModelAdmin):
    list_display = ["partner", "kind", "base_url", "up", "since"]
    readonly_fields = ["up", "since", "last_error"]
