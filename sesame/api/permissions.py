"""Who may call what: company keys, partner keys (API.md, Authentication)."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sesame.models import APIKey, Company


def request_key(request: Request) -> APIKey | None:
    return request.auth if isinstance(request.auth, APIKey) else None


def request_company(request: Request) -> Company | None:
    key = request_key(request)
    return key.company if key is not None and key.company_id else None


def request_partner(request: Request) -> str:
    key = request_key(request)
    return key.partner if key is not None else ""


class HasApiKey(BasePermission):
    message = _("An API key is required.")

    def has_permission(self, request: Request, view: object) -> bool:
        return request_key(request) is not None


class IsCompanyKey(HasApiKey):
    message = _("This endpoint needs a company API key.")
    code = "company_key_required"

    def has_permission(self, request: Request, view: object) -> bool:
        return request_company(request) is not None


def partner_key(*partners: str) -> type[BasePermission]:
    """Permission class for partner keys of the given partner systems (any partner if none)."""

    class IsPartnerKey(HasApiKey):
        message = (
            format_lazy(_("This endpoint needs a partner API key of {}."), ", ".join(partners))
            if partners
            else _("This endpoint needs a partner API key.")
        )
        code = "partner_key_required"

        def has_permission(self, request: Request, view: object) -> bool:
            partner = request_partner(request)
            return bool(partner) and (not partners or partner in partners)

    return IsPartnerKey
