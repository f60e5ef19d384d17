from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from sesame.models import AgentProfile, APIKey, BorderControlPost, Company, Membership, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "language")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "eori", "vat_number", "created_at"]
    search_fields = ["name", "eori"]
    inlines = [MembershipInline]


@admin.register(BorderControlPost)
class BorderControlPostAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "port"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "service", "post"]
    list_filter = ["service", "post"]


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "company", "partner", "created", "revoked"]
    list_filter = ["partner", "revoked"]
    readonly_fields = ["prefix", "hashed_key", "created"]
