"""The mandates page: a company's customs representation mandates, granted and received.

Every member reads it; only the company's administrators grant and revoke (403 otherwise).
Another company's mandate is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gun import selectors, services
from gun.forms import MandateForm
from gun.models import Mandate
from gun.services import GunError
from sesame.access import member_required
from sesame.models import Membership, Role


def _state(mandate: Mandate) -> str:
    today = timezone.localdate()
    if mandate.revoked_at is not None:
        return _("Revoked")
    if mandate.valid_from > today:
        return _("Not yet in force")
    if mandate.valid_until is not None and mandate.valid_until < today:
        return _("Expired")
    return _("In force")


def _mandate_refusal(exc: GunError) -> str:
    if exc.code == "self_mandate":
        return _("Your company needs no mandate to declare for itself.")
    if exc.code == "until_before_from":
        return _("The mandate cannot end before it starts.")
    return _("This mandate cannot be granted.")


def _rows(mandates: Any) -> list[tuple[Mandate, str]]:
    return [(mandate, _state(mandate)) for mandate in mandates]


@member_required
@require_http_methods(["GET", "POST"])
def mandates(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    company = membership.company
    is_admin = membership.role == Role.ADMIN
    form = MandateForm(
        request.POST if request.method == "POST" else None,
        initial={"valid_from": timezone.localdate(), "kind": "direct"},
    )
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.mandate_grant(grantor=company, data=form.cleaned_data, by=request.user)
            except GunError as exc:
                field = getattr(exc, "field", None)
                form.add_error(field if field in form.fields else None, _mandate_refusal(exc))
            else:
                messages.success(request, _("Mandate granted."))
                return redirect("gun:mandates")
        status = 400
    return render(
        request,
        "gun/mandates.html",
        {
            "company": company,
            "is_admin": is_admin,
            "form": form,
            "granted": _rows(selectors.mandates_for_company(company=company, role="granted")),
            "received": _rows(selectors.mandates_for_company(company=company, role="received")),
        },
        status=status,
    )


@member_required
@require_POST
def mandate_revoke(request: HttpRequest, pk: Any) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    mandate = selectors.mandate_get(pk=pk, company=membership.company)
    if mandate is None:
        raise Http404
    if membership.role != Role.ADMIN:
        raise PermissionDenied
    try:
        services.mandate_revoke(mandate=mandate, company=membership.company, by=request.user)
    except GunError as exc:
        if exc.http_status == 403:
            raise PermissionDenied from None
        messages.error(request, _("This mandate is already revoked."))
    else:
        messages.success(request, _("Mandate revoked."))
    return redirect("gun:mandates")
