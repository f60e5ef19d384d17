"""Pages: the consignment list (with CSV export) and the live consignment page."""

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from sesame.access import agent_without_second_factor, request_agent
from sesame.exports import csv_datetime, csv_response
from sesame.pagination import page_of
from sesame.selectors import current_membership
from tracking import selectors
from tracking.forms import ConsignmentFilterForm
from tracking.kinds import CATEGORIES
from tracking.models import Consignment


def _scope(request: HttpRequest) -> tuple[QuerySet[Consignment], bool]:
    """What the user may see: their company's consignments, or (agents) those of their post
    (sesame.access: another post's consignment, or one of no post, is not found)."""
    agent = request_agent(request)
    if agent is not None:
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
    if agent_without_second_factor(request):
        return redirect("mfa_activate_totp")
    form, consignments, read_only = _filtered(request)
    invalid = form.is_bound and not form.is_valid()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tracking/consignment_list.html",
        {
            "form": form,
            "page": page_of(request, consignments),
            "read_only": read_only,
            "query": query.urlencode(),
            "filtered": bool(form.is_bound and not invalid and any(form.filters().values())),
        },
        status=400 if invalid else 200,
    )


@login_required
def consignment_export(request: HttpRequest) -> HttpResponseBase:
    """The filtered list as CSV (sesame.exports): labels in the reader's language, local times."""
    form, consignments, read_only = _filtered(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    language = translation.get_language()
    header = [
        _("Reference"),
        *([_("Company")] if read_only else []),
        _("Containers"),
        _("Transport document"),
        _("Port"),
        _("Border control post"),
        _("Expected arrival"),
        _("Goods categories"),
        _("CHED references"),
        _("Status"),
    ]

    def rows() -> Iterator[list[str]]:
        # Streamed after the view returns: the reader's language is set again for each row.
        for consignment in consignments.iterator(chunk_size=500):
            with translation.override(language):
                yield [
                    consignment.reference,
                    *([consignment.company.name] if read_only else []),
                    " ".join(consignment.container_numbers),
                    f"{consignment.get_transport_document_type_display()} "
                    f"{consignment.transport_document_number}",
                    str(consignment.get_port_display()),
                    consignment.post.name if consignment.post else "",
                    csv_datetime(consignment.expected_arrival),
                    ", ".join(
                        str(CATEGORIES[code].label) if code in CATEGORIES else code
                        for code in consignment.categories
                    ),
                    " ".join(consignment.ched_references),
                    str(consignment.get_status_display()),
                ]

    return csv_response(filename="consignments", header=header, rows=rows())


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
