"""What an API key may do: read or write, on every resource family or on one.

A scope is ``read`` or ``write`` (every family) or ``<family>:read`` / ``<family>:write`` (one
family); ``write`` implies ``read`` on the same families. The scope an endpoint needs is derived
from the view and the request, so an endpoint written tomorrow is covered without code of its
own:

- the family is the view's ``scope_family`` attribute when it has one, else the first segment of
  the path under ``/api/v1/`` (``/api/v1/declarations/{id}/validate/`` → ``declarations``);
- the action is the view's ``scope_action`` attribute when it has one, else ``read`` for GET,
  HEAD and OPTIONS and ``write`` for every other method.

The families a key can be given are those of the URL configuration (``families()``), so the
list offered on the keys page grows with the API. ``me`` (who am I) is open to every key.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext_lazy as _

READ = "read"
WRITE = "write"
ACTIONS = (READ, WRITE)
FULL = [READ, WRITE]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/v1/"
# Families every key may read whatever its scopes: the key's own identity.
OPEN_FAMILIES = frozenset({"me"})


# What people read on the keys page; a family not listed yet shows its path segment.
FAMILY_LABELS: dict[str, Any] = {
    "appointments": _("Inspection appointments"),
    "consignments": _("Consignments"),
    "declarations": _("Customs declarations"),
    "documents": _("Dossier documents"),
    "dossier": _("Import dossier"),
    "events": _("Change feed"),
    "keys": _("API keys"),
    "mandates": _("Representation mandates"),
    "partner-documents": _("Partner documents"),
    "tracking": _("Tracking events"),
    "webhooks": _("Webhooks"),
}
ACTION_LABELS: dict[str, Any] = {READ: _("read"), WRITE: _("read and write")}


@dataclass(frozen=True)
class Needed:
    """The scope one request needs."""

    family: str
    action: str

    def __str__(self) -> str:
        return f"{self.family}:{self.action}"


def path_family(path: str) -> str:
    """The first path segment under /api/v1/ ("" outside the API)."""
    _, found, rest = path.partition(API_PREFIX)
    return rest.split("/", 1)[0] if found else ""


def needed(*, method: str, path: str, view: Any) -> Needed:
    """The scope a request needs (see the module's docstring)."""
    family = getattr(view, "scope_family", None) or path_family(path)
    action = getattr(view, "scope_action", None) or (
        READ if method.upper() in SAFE_METHODS else WRITE
    )
    return Needed(family, action)


def allows(scopes: Iterable[str], need: Needed) -> bool:
    """Whether ``scopes`` grant ``need`` (write implies read)."""
    if need.family in OPEN_FAMILIES and need.action == READ:
        return True
    granted = set(scopes)
    wanted = {need.action, f"{need.family}:{need.action}"}
    if need.action == READ:
        wanted |= {WRITE, f"{need.family}:{WRITE}"}
    return bool(granted & wanted)


def _first_segments(patterns: Iterable[URLPattern | URLResolver], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= _first_segments(pattern.url_patterns, route)
            continue
        segment = route.lstrip("^").split("/", 1)[0]
        if segment and "<" not in segment and "(" not in segment:
            found.add(segment)
    return found


@functools.cache
def families() -> tuple[str, ...]:
    """Every resource family of the API, from the URL configuration (sorted)."""
    from sesame.api import urls

    return tuple(sorted(_first_segments(urls.urlpatterns) - OPEN_FAMILIES))


def choices() -> list[str]:
    """Every scope a key may be given: the two global ones, then two per family."""
    return [*FULL, *(f"{family}:{action}" for family in families() for action in ACTIONS)]


def label(scope: str) -> str:
    """A scope as people read it: "Customs declarations: read and write"."""
    family, _sep, action = scope.rpartition(":")
    what = ACTION_LABELS.get(action, action)
    if not family:
        return str(_("Everything: %(action)s") % {"action": what})
    return str(
        _("%(family)s: %(action)s") % {"family": FAMILY_LABELS.get(family, family), "action": what}
    )


def invalid(scopes: Iterable[str]) -> list[str]:
    """The scopes of ``scopes`` that are not scopes of this API."""
    known = set(choices())
    return [scope for scope in scopes if scope not in known]
