"""`Authorization: Api-Key <key>`: a key of a company or of a partner system (API.md)."""

from dataclasses import dataclass

import pghistory
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from sesame.models import APIKey, Company

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class ApiPrincipal:
    """Who an API request acts for: `request.user` of key-authenticated requests."""

    key: APIKey

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = None

    @property
    def company(self) -> Company | None:
        return self.key.company

    @property
    def partner(self) -> str:
        return self.key.partner

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}:{self.key.owner_label}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiPrincipal, APIKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        key = key.strip()
        if keyword.lower() != KEYWORD.lower() or not key:
            raise exceptions.AuthenticationFailed(
                f"Use the header 'Authorization: {KEYWORD} <key>'.", code="bad_authorization_header"
            )
        prefix, dot, _secret = key.partition(".")
        if not dot or len(key) > 200:
            raise exceptions.AuthenticationFailed("Unknown API key.", code="api_key_unknown")
        api_key = APIKey.objects.select_related("company").filter(prefix=prefix).first()
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Unknown API key.", code="api_key_unknown")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed(
                "This API key is revoked.", code="api_key_revoked"
            )
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(
                "This API key has expired.", code="api_key_expired"
            )
        # Audit: every change made through this request names the key and its owner.
        pghistory.context(api_key=api_key.prefix, api_key_owner=api_key.owner_label)
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
