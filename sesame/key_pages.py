"""The company's API keys page (company administrators): list, create with scopes, revoke."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sesame import services
from sesame.access import member_required
from sesame.api import scopes
from sesame.forms import ApiKeyForm
from sesame.models import Membership, Role
from sesame.selectors import api_keys_for_company


def _admin(request: HttpRequest) -> Membership:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    if membership.role != Role.ADMIN:
        raise PermissionDenied
    return membership


@member_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """GET: the keys; POST: a new key, whose secret is shown in this answer only."""
    membership = _admin(request)
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                key, clear = services.api_key_create(
                    company=membership.company,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                status = 400
            else:
                created = {"key": key, "clear": clear}
                form = ApiKeyForm()
        else:
            status = 400
    keys = [
        {"key": key, "scopes": [scopes.label(scope) for scope in key.scopes]}
        for key in api_keys_for_company(company=membership.company)
    ]
    return render(
        request,
        "sesame/api_keys.html",
        {"keys": keys, "form": form, "created": created, "company": membership.company},
        status=status,
    )


@member_required
@require_POST
def api_key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    membership = _admin(request)
    key = get_object_or_404(api_keys_for_company(company=membership.company), prefix=prefix)
    services.api_key_revoke(key=key)
    messages.success(request, _("The key %(name)s is revoked.") % {"name": key.name})
    return redirect("company-api-keys")
