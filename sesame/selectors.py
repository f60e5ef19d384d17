"""Reads about people and companies."""

from django.db.models import QuerySet
from django.http import HttpRequest

from sesame.models import AgentProfile, APIKey, Company, Membership, Role, User

SESSION_COMPANY = "company_id"


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("company").order_by("company__name")


def agent_profile_for_user(*, user: User) -> AgentProfile | None:
    return AgentProfile.objects.select_related("post").filter(user=user).first()


def user_has_totp(*, user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def current_membership(request: HttpRequest) -> Membership | None:
    """The company the signed-in operator works for now (chosen in the session, else the first)."""
    cached = getattr(request, "_sesame_membership", False)  # False: not looked up yet
    if cached is None or isinstance(cached, Membership):
        return cached
    user = request.user
    membership = None
    if user.is_authenticated:
        memberships = memberships_for_user(user=user)
        chosen = request.session.get(SESSION_COMPANY)
        membership = (memberships.filter(company_id=chosen).first() if chosen else None) or (
            memberships.first()
        )
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


def api_keys_for_owner(*, company: Company | None = None, partner: str = "") -> QuerySet[APIKey]:
    """The keys of a company, or of a partner system (newest first)."""
    if company is not None:
        return api_keys_for_company(company=company)
    return APIKey.objects.filter(company__isnull=True, partner=partner).order_by("-created")
