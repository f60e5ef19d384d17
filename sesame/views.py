"""Pages shared by every role: dashboard, company members, profile, health."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sesame import services
from sesame.access import (
    agent_without_second_factor,
    member_required,
    redirect_to_chooser,
    request_agent,
)
from sesame.forms import InvitationForm, ProfileForm
from sesame.models import Membership, Role
from sesame.registry import AGENT, OPERATOR, PANELS
from sesame.selectors import (
    SESSION_COMPANY,
    company_members,
    current_membership,
    memberships_for_user,
)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard" if request.user.is_authenticated else "account_login")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Operator: their company's work. Agent: their post's queue."""
    if agent_without_second_factor(request):
        return redirect("mfa_activate_totp")
    agent = request_agent(request)
    if agent is not None:
        role = AGENT
    else:
        membership = current_membership(request)
        if membership is None:
            if memberships_for_user(user=request.user).exists():  # type: ignore[arg-type]
                return redirect_to_chooser(request)
            return render(request, "sesame/no_company.html", status=403)
        request.membership = membership  # type: ignore[attr-defined]
        role = OPERATOR
    # Each app's panel is rendered with its own context (sesame.registry).
    panels = [
        render_to_string(panel.template, panel.context(request), request=request)
        for panel in PANELS
        if role in panel.roles
    ]
    return render(
        request,
        "sesame/dashboard.html",
        {
            "role": role,
            "agent": agent,
            "membership": getattr(request, "membership", None),
            "memberships": memberships_for_user(user=request.user)  # type: ignore[arg-type]
            if role == OPERATOR
            else [],
            "panels": panels,
        },
    )


@member_required
@require_POST
def company_switch(request: HttpRequest) -> HttpResponse:
    company_id = request.POST.get("company", "")
    membership = (
        memberships_for_user(user=request.user)  # type: ignore[arg-type]
        .filter(company_id=company_id if company_id.isdigit() else 0)
        .first()
    )
    if membership is None:
        messages.error(request, _("You are not a member of that company."))
    else:
        request.session[SESSION_COMPANY] = membership.company_id
    return redirect("dashboard")


@member_required
def members(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    is_admin = membership.role == Role.ADMIN
    form = InvitationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.membership_invite(
                    company=membership.company,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    by=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(
                    request,
                    _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
                )
                return redirect("members")
        status = 400
    return render(
        request,
        "sesame/members.html",
        {
            "members": company_members(company=membership.company),
            "form": form,
            "is_admin": is_admin,
            "company": membership.company,
        },
        status=status,
    )


@member_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    target = get_object_or_404(Membership, pk=pk, company=membership.company)
    try:
        services.membership_remove(membership=target, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("members")
    messages.success(request, _("%(email)s was removed.") % {"email": target.user.email})
    return redirect("members")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            translation.activate(user.language)
            messages.success(request, _("Your profile is saved."))
            response = redirect("profile")
            response.set_cookie("django_language", user.language, samesite="Lax")
            return response
        return render(request, "sesame/profile.html", {"form": form}, status=400)
    return render(request, "sesame/profile.html", {"form": form})


def health(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and Redis answer."""
    from django.core.cache import cache

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("health", "ok", 5)
    return JsonResponse({"status": "ok", "cache": cache.get("health")})
