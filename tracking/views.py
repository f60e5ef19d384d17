"""Pages: the consignment list (with CSV export) and the live consignment page."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from sesame.selectors import agent_profile_for_user, current_membership, user_has_totp
from tracking import selectors
from tracking.forms import ConsignmentFilterForm
from tracking.models import Consignment

PAGE_SIZE = 50


def _scope(request: HttpRequest) -> tuple[QuerySet[Consignment], bool]:
    """What the user may see: their company's consignments, or (agents) those of their post."""
    agent = agent_profile_for_user(user=request.user)  # type: ignore[arg-type]
    if agent is not None:
        if not user_has_totp(user=request.user):  # type: ignore[arg-type]
            raise PermissionDenied
        return selectors.consignments_for_post(post=agent.post), True
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied
    return selectors.consignments_for_company(company=membership.company), False


def _filtered(request: HttpRequest) -> tuple[ConsignmentFilterForm, QuerySet[Consignment], bool]:
    consignments, read_only = _scope(request)
    form = ConsignmentFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        consignments = selectors.consignments_filter(consignments, **form.filters())
    elif form.is_bound:
        consignments = consignments.none()
    return form, consignments, read_only


@login_required
def consignment_list(request: HttpRequest) -> HttpResponse:
    if agent_profile_for_user(user=request.user) and not user_has_totp(user=request.user):  # type: ignore[arg-type]
        return redirect("mfa_activate_totp")
    form, consignments, read_only = _filtered(request)
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "tracking/consignment_list.html",
        {
            "form": form,
            "consignments": consignments[:PAGE_SIZE],
            "read_only": read_only,
            "query": request.GET.urlencode(),
        },
        status=status,
    )


@login_required
def consignment_export(request: HttpRequest) -> HttpResponse:
    form, consignments, _read_only = _filtered(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="consignments-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Reference"),
            _("Containers"),
            _("Transport document"),
            _("Port"),
            _("Border control post"),
            _("Expected arrival"),
            _("Goods categories"),
            _("CHED references"),
            _("Status"),
        ]
    )
    for consignment in consignments.iterator(chunk_size=500):
        writer.writerow(
            [
                consignment.reference,
                " ".join(consignment.container_numbers),
                consignment.transport_document_number,
                consignment.port,
                consignment.post.code if consignment.post else "",
                timezone.localtime(consignment.expected_arrival).isoformat(),
                " ".join(consignment.categories),
                " ".join(consignment.ched_references),
                consignment.get_status_display(),
            ]
        )
    return response


def _consignment(request: HttpRequest, pk: int) -> tuple[Consignment, bool]:
    consignments, read_only = _scope(request)
    return get_object_or_404(consignments, pk=pk), read_only


@login_required
def consignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consignment, read_only = _consignment(request, pk)
    return render(
        request,
        "tracking/consignment_detail.html",
        {
            "consignment": consignment,
            "timeline": selectors.consignment_timeline(consignment=consignment),
            "last_event_id": selectors.consignment_last_event_id(consignment=consignment),
            "read_only": read_only,
        },
    )


@login_required
def consignment_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline fragment the live page fetches when an event arrives."""
    consignment, _read_only = _consignment(request, pk)
    return render(
        request,
        "tracking/_timeline.html",
        {
            "consignment": consignment,
            "timeline": selectors.consignment_timeline(consignment=consignment),
        },
    )
