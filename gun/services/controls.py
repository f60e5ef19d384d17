"""Customs controls, check modes, partner links."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from gun import tracking_link
from gun.engine import profile_for
from gun.models import (
    AdapterKind,
    CheckMode,
    CheckModeChoice,
    Control,
    ControlDecision,
    ControlStatus,
    Declaration,
    DeclarationStatus,
    GunPartner,
    PartnerLink,
)
from gun.services.declarations import _bump, _lock_declaration, who
from gun.services.errors import GunConflict, GunInvalid, StatusConflict
from gun.signals import declaration_changed

# GUN_RULES §5: the ledger's invariant relies on these checks; they are never passive.
NEVER_PASSIVE = frozenset({"F022", "F033"})


def control_decide(
    *, declaration: Declaration, decision: str, comment: str = "", agent: Any = None
) -> Control:
    """Close the open control of a validated declaration (GUN_RULES §4): ``justified`` lets it
    be released; ``unjustified`` blocks release until a rectification passes every check.
    409 ``status_<status>`` unless validated; 409 ``control_<status>`` unless a control is open.
    """
    if decision not in (ControlDecision.JUSTIFIED, ControlDecision.UNJUSTIFIED):
        raise GunInvalid("decision", "invalid_choice", "Decide justified or unjustified.")
    with transaction.atomic():
        current = _lock_declaration(declaration.pk)
        if current.status != DeclarationStatus.VALIDATED:
            raise StatusConflict(current.status, "controlled")
        if current.control_status != ControlStatus.OPEN:
            raise GunConflict(
                f"control_{current.control_status}", "This declaration has no open control."
            )
        control = Control.objects.select_for_update().get(declaration=current, decision="open")
        control.decision = decision
        control.comment = comment[:2000]
        control.agent = agent if getattr(agent, "pk", None) else None
        control.decided_at = timezone.now()
        control.save()
        _bump(current, old_status=DeclarationStatus.VALIDATED, control_status=decision)
        tracking_link.declaration_event(
            declaration=current,
            kind="declaration_controlled",
            source_event_id=f"gun:{current.pk}:control-{control.pk}:declaration_controlled",
            payload={
                "declaration_id": str(current.pk),
                "mrn": current.mrn,
                "decision": decision,
                "comment": control.comment,
                "agent": who(agent),
            },
        )
        declaration_changed.send(Declaration, declaration=current, action="control_decided")
    return control


def check_mode_set(*, profile_code: str, check_code: str, mode: str, by: Any = None) -> CheckMode:
    """Set a check live or passive for a profile (passive: recorded, never blocking).
    Refuses a check the profile does not run, an unknown mode, and passive F022/F033."""
    profile = profile_for(profile_code)
    if profile is None:
        raise GunInvalid("profile_code", "unknown_profile", f"{profile_code} is not a GUN code.")
    if check_code not in profile.checks:
        raise GunInvalid("check_code", "unknown_check", f"{profile_code} runs no {check_code}.")
    if mode not in CheckModeChoice.values:
        raise GunInvalid("mode", "invalid_choice", "Mode is live or passive.")
    if mode == CheckModeChoice.PASSIVE and check_code in NEVER_PASSIVE:
        raise GunInvalid(
            "check_code", "never_passive", f"{check_code} protects the ledger: always live."
        )
    mode_row, _ = CheckMode.objects.update_or_create(
        profile_code=profile_code,
        check_code=check_code,
        defaults={"mode": mode, "updated_by": who(by)},
    )
    return mode_row


def partner_link_set(
    *,
    partner: str,
    kind: str,
    base_url: str = "",
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
) -> PartnerLink:
    """Point a partner at an adapter (``local`` or ``http`` with its URL and time-outs)."""
    if partner not in GunPartner.values:
        raise GunInvalid("partner", "invalid_choice", "Unknown GUN partner.")
    if kind not in AdapterKind.values:
        raise GunInvalid("kind", "invalid_choice", "Adapter is local or http.")
    if kind == AdapterKind.HTTP and not base_url:
        raise GunInvalid("base_url", "required", "An http adapter needs a base URL.")
    link, _ = PartnerLink.objects.update_or_create(
        partner=partner,
        defaults={
            "kind": kind,
            "base_url": base_url,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        },
    )
    return link
