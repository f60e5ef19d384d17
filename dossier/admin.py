"""Dossier admin: the legal hold (staff, audited), and read views of documents and their log."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from dossier.models import AccessLog, Document, Dossier, Generation, Share
from dossier.services import legal_hold_set


class HoldForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the hold"), max_length=300)


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin):
    list_display = ["consignment", "released_on", "retain_until", "legal_hold", "completed_at"]
    list_filter = ["legal_hold"]
    search_fields = ["consignment__reference", "consignment__company__eori"]
    readonly_fields = [
        "consignment",
        "released_on",
        "retain_until",
        "legal_hold",
        "legal_hold_reason",
        "completed_at",
    ]
    actions = ["hold", "lift_hold"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Put on legal hold (nothing is purged while held)"))
    def hold(self, request: HttpRequest, queryset: QuerySet[Dossier]) -> HttpResponse | None:
        form = HoldForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return render(
                request,
                "admin/dossier/hold.html",
                {
                    **self.admin_site.each_context(request),
                    "form": form,
                    "dossiers": queryset,
                    "action": "hold",
                    "opts": self.model._meta,
                },
            )
        for dossier in queryset:
            legal_hold_set(
                consignment=dossier.consignment, hold=True, reason=form.cleaned_data["reason"]
            )
        self.message_user(request, _("Legal hold set."), messages.SUCCESS)
        return None

    @admin.action(description=_("Lift the legal hold"))
    def lift_hold(self, request: HttpRequest, queryset: QuerySet[Dossier]) -> None:
        for dossier in queryset:
            legal_hold_set(consignment=dossier.consignment, hold=False)
        self.message_user(request, _("Legal hold lifted."), messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["consignment", "type", "reference", "version", "current", "origin", "size"]
    list_filter = ["type", "origin", "current"]
    search_fields = ["consignment__reference", "reference", "sha256"]


@admin.register(Share)
class ShareAdmin(ReadOnlyAdmin):
    list_display = ["consignment", "company", "role", "created_at"]


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["document", "action", "at", "by", "company_eori", "partner"]
    list_filter = ["action"]


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = ["consignment", "type", "key", "status", "attempts", "done_at"]
    list_filter = ["status", "type"]
