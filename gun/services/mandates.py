"""Customs representation mandates: an importer lets another company declare for it.

A company declares for an importer other than itself only under a mandate in force that the
importer granted in the portal; without one, every declaration use case answers 403
``no_mandate`` before any GUN check runs (``mandate_require``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from gun.errors import GunConflict, GunForbidden, GunInvalid
from gun.models import Mandate, MandateKind
from gun.selectors import mandate_grantor_eoris


def _who(by: Any) -> str:
    if by is None:
        return ""
    return str(getattr(by, "email", None) or by)[:200]


def mandate_grant(*, grantor: Any, data: Mapping[str, Any], by: Any) -> Mandate:
    """Grant a mandate of ``grantor`` (the importer) to the company of
    ``data["representative_eori"]``, ``kind`` direct or indirect, from ``valid_from`` (default
    today) until ``valid_until`` (inclusive; none: until revoked). Refuses a mandate to
    oneself (400 ``self_mandate``), an unknown kind and an end before the start (400). One
    audited insert."""
    representative = data["representative_eori"]
    if representative == grantor.eori:
        raise GunInvalid(
            "representative_eori", "self_mandate", "A company needs no mandate to act for itself."
        )
    if data["kind"] not in MandateKind.values:
        raise GunInvalid("kind", "invalid_choice", "Representation is direct or indirect.")
    valid_from: datetime.date = data.get("valid_from") or timezone.localdate()
    valid_until: datetime.date | None = data.get("valid_until")
    if valid_until is not None and valid_until < valid_from:
        raise GunInvalid(
            "valid_until", "until_before_from", "The mandate cannot end before it starts."
        )
    return Mandate.objects.create(
        grantor=grantor,
        representative_eori=representative,
        kind=data["kind"],
        valid_from=valid_from,
        valid_until=valid_until,
        granted_by=_who(by),
    )


def mandate_revoke(*, mandate: Mandate, company: Any, by: Any) -> Mandate:
    """Revoke a mandate, by its grantor only (403 ``not_grantor`` for the representative);
    409 ``mandate_revoked`` when already revoked. Effective at once: the representative's
    next registration, replacement, validation or rectification for this importer is 403
    ``no_mandate``, even for a declaration registered before."""
    if mandate.grantor_id != company.pk:
        raise GunForbidden("not_grantor", "Only the importer who granted a mandate revokes it.")
    with transaction.atomic():
        changed = Mandate.objects.filter(pk=mandate.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=_who(by)
        )
        if changed != 1:
            raise GunConflict("mandate_revoked", "This mandate is already revoked.")
        mandate.refresh_from_db()
    return mandate


def mandate_require(
    *, company: Any, importer_eori: str, grantors: frozenset[str] | None = None
) -> frozenset[str]:
    """403 ``no_mandate`` unless ``company`` is the importer or holds a mandate in force from
    it (GUN_RULES §1 refined in docs/gun.md, "Mandates"). Returns the EORIs the company may
    act for besides its own (``grantors`` when the caller already read them): no query when
    the company declares for itself."""
    if importer_eori == company.eori:
        return grantors if grantors is not None else frozenset()
    if grantors is None:
        grantors = mandate_grantor_eoris(company=company)
    if importer_eori not in grantors:
        raise GunForbidden(
            "no_mandate",
            "No customs representation mandate in force lets this company declare for "
            "this importer.",
        )
    return grantors
