"""Reads about people and companies."""

import hashlib

from django.db.models import QuerySet
from django.http import HttpRequest

from sesame.models import AgentProfile, APIKey, Company, Invitation, Membership, Role, User

SESSION_COMPANY = "company_id"


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("company").order_by("company__name")


def agent_profile_for_user(*, user: User) -> AgentProfile | None:
    return AgentProfile.objects.select_related("post").filter(user=user).first()


def user_has_totp(*, user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def current_membership(request: HttpRequest) -> Membership | None:
    """The company the signed-in person works for now: their only one, or, for a person in
    several companies, the one they chose in this session (`company_switch`); None until they
    choose. Never a company picked for them."""
    cached = getattr(request, "_sesame_membership", False)  # False: not looked up yet
    if cached is None or isinstance(cached, Membership):
        return cached
    user = request.user
    membership = None
    if user.is_authenticated:
        chosen = request.session.get(SESSION_COMPANY)
        if isinstance(chosen, int):
            membership = memberships_for_user(user=user).filter(company_id=chosen).first()
        if membership is None:
            first_two = list(memberships_for_user(user=user)[:2])
            membership = first_two[0] if len(first_two) == 1 else None
    request._sesame_membership = membership  # type: ignore[attr-defined]
    return membership


def current_company(request: HttpRequest) -> Company | None:
    membership = current_membership(request)
    return membership.company if membership else None


def company_members(*, company: Company) -> QuerySet[Membership]:
    return company.memberships.select_related("user").order_by("user__email")


def company_admin_count(*, company: Company) -> int:
    return company.memberships.filter(role=Role.ADMIN).count()


def api_keys_for_company(*, company: Company) -> QuerySet[APIKey]:
    return APIKey.objects.filter(company=company).order_by("-created")


def invitation_token_hash(token: str) -> str:
    """What is stored of an invitation link's secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation of a link (whatever its status), or None."""
    return (
        Invitation.objects.select_related("company", "invited_by")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )


def invitations_open(*, company: Company) -> QuerySet[Invitation]:
    """The company's invitations not accepted nor cancelled (pending or expired), newest first."""
    return (
        Invitation.objects.filter(
            company=company, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def api_keys_for_owner(*, company: Company | None = None, partner: str = "") -> QuerySet[APIKey]:
    """The keys of a company, or of a partner system (newest first)."""
    if company is not None:
        return api_keys_for_company(company=company)
    return APIKey.objects.filter(company__isnull=True, partner=partner).order_by("-created")
