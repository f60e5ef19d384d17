"""Support view: every delivery with its attempts (provider ids, errors); failed ones at a click."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifications.models import Attempt, Delivery, DeliveryStatus, Preference, Profile


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "finished_at", "outcome", "provider_id", "error"]
    readonly_fields = fields  # type: ignore[assignment]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class FailedFilter(admin.SimpleListFilter):
    title = _("failed deliveries")
    parameter_name = "failed"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("yes", _("Failed or undelivered")), ("retrying", _("Retrying"))]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "yes":
            return queryset.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED])
        if self.value() == "retrying":
            return queryset.filter(status=DeliveryStatus.PENDING, attempts__gt=0)
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "kind",
        "channel",
        "user",
        "address",
        "status",
        "attempts",
        "provider_id",
        "last_error",
    ]
    list_filter = [FailedFilter, "status", "channel", "kind"]
    search_fields = ["provider_id", "address", "user__email"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "phone", "phone_verified_at", "quiet_start", "quiet_end"]
    search_fields = ["user__email", "phone"]


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "channel", "enabled"]
    list_filter = ["kind", "channel", "enabled"]
    search_fields = ["user__email"]
