"""`Authorization: Api-Key <key>`: a key of a company or of a partner system (API.md)."""

import copy
import time
from dataclasses import dataclass

import pghistory
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from sesame.api import scopes
from sesame.models import APIKey, Company
from sesame.versioned import VersionedCopies

KEYWORD = "Api-Key"

# Keys are cached per process for KEY_TTL seconds at most, so repeated requests skip the query.
# Each copy is stamped with a version held in the cache (Redis), read on every request; a
# revocation (``sesame.services.api_key_revoke``) drops this process's copies and bumps the
# version, so every other process drops its copies at its next request. The secret is still
# checked against the hashed key on every request. Copies are filled only outside transactions
# and only when the version could be read (the cache down: every request reads the database).
KEY_TTL = 2.0
KEY_VERSION_KEY = "sesame:api-key-version"
_copies: VersionedCopies[APIKey] = VersionedCopies(version_key=KEY_VERSION_KEY, ttl=KEY_TTL)
_keys = _copies.store  # prefix -> (version, expires, key)


def keys_forget() -> None:
    """Drop this process's cached keys now and make every other process drop theirs."""
    _copies.bump()


def _copy(api_key: APIKey) -> APIKey:
    # A copy per request: a view never mutates another request's objects.
    copied = copy.copy(api_key)
    if api_key.company is not None:
        copied.company = copy.copy(api_key.company)
    return copied


def _api_key(prefix: str) -> APIKey | None:
    """The key with ``prefix`` (company loaded), from this process's copy when still valid."""
    return _copies.get(
        prefix,
        lambda: APIKey.objects.select_related("company").filter(prefix=prefix).first(),  # type: ignore[arg-type, return-value]
        copy=_copy,
    )


# A key's last use is written at most this often per process (the keys page shows a date).
LAST_USED_EVERY = 60.0
_last_used: dict[str, float] = {}  # prefix -> when this process last wrote it (monotonic)


def _note_use(api_key: APIKey) -> None:
    """Write the key's last use when this process has not done so for LAST_USED_EVERY."""
    now = time.monotonic()
    if now - _last_used.get(api_key.prefix, -LAST_USED_EVERY) < LAST_USED_EVERY:
        return
    _last_used[api_key.prefix] = now
    APIKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"


def _check_scope(request: Request, api_key: APIKey) -> None:
    """403 ``insufficient_scope`` unless the key's scopes grant what the endpoint needs.

    Checked here because authentication is the one step every API view runs: views choose
    their permission classes (replacing the defaults), none its authentication."""
    view = (request.parser_context or {}).get("view")
    need = scopes.needed(method=request.method or "GET", path=request.path, view=view)
    if not scopes.allows(api_key.scopes, need):
        error = InsufficientScope(f"This API key lacks the scope {need} (or {need.action}).")
        error.extra = {"required_scope": str(need)}  # type: ignore[attr-defined]
        raise error


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
        api_key = _api_key(prefix)
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
        _note_use(api_key)
        _check_scope(request, api_key)
        # Audit: every change made through this request names the key and its owner.
        pghistory.context(api_key=api_key.prefix, api_key_owner=api_key.owner_label)
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
