"""Pages shared by every role: dashboard, company members, profile, health."""

from typing import Any

from allauth.account import views as allauth_views
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from sesame import services
from sesame.access import (
    agent_without_second_factor,
    is_agent,
    member_required,
    redirect_to_chooser,
    request_agent,
)
from sesame.confirm import confirmation
from sesame.forms import CompanyChoiceForm, InvitationForm, NewAccountForm, ProfileForm
from sesame.models import Invitation, Membership, Role
from sesame.pagination import page_of
from sesame.registry import AGENT, OPERATOR, PANELS
from sesame.selectors import (
    SESSION_COMPANY,
    company_members,
    current_membership,
    invitation_for_token,
    invitations_open,
    memberships_for_user,
    user_exists,
)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


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


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("dashboard")


@login_required
@require_http_methods(["GET", "POST"])
def company_switch(request: HttpRequest) -> HttpResponse:
    """The company chooser: a person in several companies says which one they work for now;
    nothing is chosen for them (sesame.selectors.current_membership)."""
    memberships = list(memberships_for_user(user=request.user))  # type: ignore[arg-type]
    if not memberships:
        return render(request, "sesame/no_company.html", status=403)
    form = CompanyChoiceForm(
        request.POST if request.method == "POST" else None, memberships=memberships
    )
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        company_id = form.cleaned_data["company"]
        request.session[SESSION_COMPANY] = company_id
        chosen = next(m for m in memberships if m.company_id == company_id)
        messages.success(
            request,
            _("You now work for %(company)s.") % {"company": chosen.company.name},
        )
        return redirect(_safe_next(request, next_url))
    current = current_membership(request)
    return render(
        request,
        "sesame/company_switch.html",
        {
            "form": form,
            "memberships": memberships,
            "current": current,
            "next": next_url if url_has_allowed_host_and_scheme(next_url, None) else "",
        },
        status=400 if form.is_bound else 200,
    )


# French elides "de" before a vowel: "Membres d'ACME", "Membres de Portuaire Logistique".
VOWELS = set("AEIOUYÀÂÄÆÉÈÊËÎÏÔÖŒÙÛÜ")


def members_heading(name: str) -> str:
    if name[:1].upper() in VOWELS:
        return pgettext("company name starting with a vowel", "Members of %(name)s") % {
            "name": name
        }
    return _("Members of %(name)s") % {"name": name}


@member_required
def members(request: HttpRequest) -> HttpResponse:
    """The company's members and open invitations; administrators invite (a pending invitation
    sent by email) and remove."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    is_admin = membership.role == Role.ADMIN
    form = InvitationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        if form.is_valid():
            try:
                invitation = services.invitation_create(
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
                _invitation_sent_message(request, invitation)
                return redirect("members")
        status = 400
    return render(
        request,
        "sesame/members.html",
        {
            "page": page_of(request, company_members(company=membership.company)),
            "invitations": invitations_open(company=membership.company) if is_admin else [],
            "form": form,
            "is_admin": is_admin,
            "company": membership.company,
            "heading": members_heading(membership.company.name),
        },
        status=status,
    )


def _invitation_sent_message(request: HttpRequest, invitation: Invitation) -> None:
    invitation.refresh_from_db(fields=["sent_at"])
    if invitation.sent_at is None:
        messages.warning(
            request,
            _(
                "The invitation to %(email)s is saved but the email could not be sent: send it "
                "again in a moment."
            )
            % {"email": invitation.email},
        )
    else:
        messages.success(
            request,
            _("Invitation sent to %(email)s; it is valid until %(date)s.")
            % {
                "email": invitation.email,
                "date": date_format(timezone.localtime(invitation.expires_at), "DATETIME_FORMAT"),
            },
        )


def _company_invitation(request: HttpRequest, pk: int) -> Invitation:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    if membership.role != Role.ADMIN:
        raise PermissionDenied
    return get_object_or_404(invitations_open(company=membership.company), pk=pk)


@member_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _company_invitation(request, pk)
    try:
        invitation = services.invitation_resend(invitation=invitation, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _invitation_sent_message(request, invitation)
    return redirect("members")


@member_required
@require_POST
def invitation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a pending invitation, after confirmation (sesame.confirm)."""
    invitation = _company_invitation(request, pk)
    asked = confirmation(
        request,
        question=_("Cancel the invitation to %(email)s?") % {"email": invitation.email},
        detail=_("The link sent by email stops working."),
        confirm_label=_("Cancel the invitation"),
        cancel_url=reverse("members"),
    )
    if asked:
        return asked
    try:
        services.invitation_revoke(invitation=invitation, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The invitation to %(email)s is cancelled.") % {"email": invitation.email}
        )
    return redirect("members")


REFUSAL_STATUS = {
    "unknown": 404,
    "expired": 410,
    "accepted": 410,
    "revoked": 410,
    "wrong_account": 403,
    "agent": 403,
    "account_exists": 409,
}


def _refused(
    request: HttpRequest, refusal: services.InvitationRefused, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "sesame/invitation.html",
        {"refusal": refusal, **extra},
        status=REFUSAL_STATUS.get(refusal.code, 400),
    )


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    request.session[SESSION_COMPANY] = membership.company_id
    messages.success(
        request,
        _("Welcome to %(company)s: it is now the company you work for.")
        % {"company": membership.company.name},
    )
    return redirect("dashboard")


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page of an invitation link. Signed in as the invited address: accept. No account
    yet: choose a password, which creates the account and accepts. An account exists but
    another person (or nobody) is signed in: sign in as the invited address first."""
    found = invitation_for_token(token=token)
    try:
        found = services.invitation_usable(found)
    except services.InvitationRefused as unusable:
        return _refused(request, unusable, invitation=found)
    context: dict[str, Any] = {"invitation": found}
    user = request.user
    if user.is_authenticated:
        if is_agent(request):
            refusal = services.InvitationRefused(
                "agent", _("Control agents cannot join a company.")
            )
            return _refused(request, refusal, invitation=found)
        if user.email.lower() != found.email:  # type: ignore[union-attr]
            refusal = services.InvitationRefused(
                "wrong_account",
                _(
                    "This invitation was sent to %(invited)s and you are signed in as "
                    "%(current)s. Sign out, then open the link again and sign in as %(invited)s."
                )
                % {"invited": found.email, "current": user.email},  # type: ignore[union-attr]
            )
            return _refused(request, refusal, invitation=found, wrong_account=True)
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=user)  # type: ignore[arg-type]
            except services.InvitationRefused as refused:
                return _refused(request, refused, invitation=found)
            return _joined(request, membership)
        return render(request, "sesame/invitation.html", {**context, "can_accept": True})
    if user_exists(email=found.email):
        login_url = f"{reverse('account_login')}?{urlencode({'next': request.path})}"
        if request.method == "POST":
            return redirect(login_url)
        return render(request, "sesame/invitation.html", {**context, "sign_in_url": login_url})
    form = NewAccountForm(request.POST if request.method == "POST" else None, email=found.email)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept_new_account(
                token=token, password=form.cleaned_data["password1"]
            )
        except services.InvitationRefused as refused:
            return _refused(request, refused, invitation=found)
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            auth_login(request, membership.user, backend=MODEL_BACKEND)
            return _joined(request, membership)
    return render(
        request,
        "sesame/invitation.html",
        {**context, "form": form},
        status=400 if form.is_bound else 200,
    )


class LoginView(allauth_views.LoginView):
    """allauth's sign-in, answering a refused sign-in with a precise status: 429 with
    Retry-After while throttled (sesame.adapters), 400 for wrong credentials."""

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        retry_after = getattr(self.request, "sesame_retry_after", None)
        if retry_after:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        else:
            response.status_code = 400
        return response


@member_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a member, after confirmation (sesame.confirm)."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    if membership.role != Role.ADMIN:
        raise PermissionDenied
    target = get_object_or_404(
        Membership.objects.select_related("user"), pk=pk, company=membership.company
    )
    asked = confirmation(
        request,
        question=_("Remove %(email)s from %(company)s?")
        % {"email": target.user.email, "company": membership.company.name},
        detail=_("They will no longer see the company's consignments and declarations."),
        confirm_label=_("Remove the member"),
        cancel_url=reverse("members"),
    )
    if asked:
        return asked
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


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page declares: DSFR's icon."""
    return redirect(static("dsfr/dist/favicon/favicon.ico"))


def health(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and Redis answer."""
    from django.core.cache import cache

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("health", "ok", 5)
    return JsonResponse({"status": "ok", "cache": cache.get("health")})
