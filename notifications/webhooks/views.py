"""The webhooks pages (company administrators): endpoints, their secret, delivery log, dead
letters and replays. Another company's endpoint or delivery is 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications.feed.types import EVENT_TYPES, grouped
from notifications.webhooks import selectors, services
from notifications.webhooks.forms import EndpointForm
from notifications.webhooks.models import WebhookEndpoint
from sesame.access import member_required
from sesame.models import Membership, Role

LOG_ROWS = 50


def _company(request: HttpRequest) -> Any:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    if membership.role != Role.ADMIN:
        raise PermissionDenied
    return membership.company


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    endpoint = selectors.endpoint_get(company=_company(request), pk=pk)
    if endpoint is None:
        raise Http404
    return endpoint


def _form_errors(form: EndpointForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@member_required
def endpoints(request: HttpRequest) -> HttpResponse:
    """GET: the endpoints and a form; POST: subscribe a URL (its secret shown once)."""
    company = _company(request)
    form = EndpointForm(request.POST if request.method == "POST" else None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    company=company,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                created = {"endpoint": endpoint, "secret": secret}
                form = EndpointForm()
        else:
            status = 400
    return render(
        request,
        "notifications/webhooks/endpoints.html",
        {
            "endpoints": selectors.endpoints_for_company(company=company),
            "form": form,
            "groups": grouped(),
            "created": created,
            "labels": {code: event_type.label for code, event_type in EVENT_TYPES.items()},
        },
        status=status,
    )


@member_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the endpoint, its delivery log and dead letters; POST: change it."""
    endpoint = _endpoint(request, pk)
    status = 200
    if request.method == "POST":
        form = EndpointForm(request.POST, editing=True)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(endpoint=endpoint, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("The endpoint is saved."))
                return redirect("notifications:webhook", pk=endpoint.pk)
        else:
            status = 400
    else:
        form = EndpointForm(
            editing=True,
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "event_types": endpoint.event_types,
                "enabled": endpoint.enabled,
            },
        )
    wanted = request.GET.get("status", "")
    deliveries = selectors.deliveries_for_endpoint(endpoint=endpoint, status=wanted or None)
    return render(
        request,
        "notifications/webhooks/endpoint.html",
        {
            "endpoint": endpoint,
            "form": form,
            "groups": grouped(),
            "deliveries": list(deliveries[:LOG_ROWS]),
            "dead_count": selectors.dead_count(endpoint=endpoint),
            "status_filter": wanted,
            "secret": None,
        },
        status=status,
    )


@member_required
def delivery_detail(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    delivery = selectors.delivery_get(endpoint=endpoint, pk=delivery_pk)
    if delivery is None:
        raise Http404
    return render(
        request,
        "notifications/webhooks/delivery.html",
        {"endpoint": endpoint, "delivery": delivery, "attempts": delivery.attempt_set.all()},
    )


@member_required
@require_POST
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret, shown in this answer only; the old one signs beside it for a day."""
    endpoint = _endpoint(request, pk)
    secret = services.webhook_secret_rotate(endpoint=endpoint)
    endpoint.refresh_from_db()
    return render(
        request,
        "notifications/webhooks/secret.html",
        {"endpoint": endpoint, "secret": secret, "rotated": True},
    )


@member_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, _("The endpoint %(url)s is deleted.") % {"url": endpoint.url})
    return redirect("notifications:webhooks")


@member_required
@require_POST
def replay(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    delivery = selectors.delivery_get(endpoint=endpoint, pk=delivery_pk)
    if delivery is None:
        raise Http404
    if services.webhook_delivery_replay(delivery=delivery):
        messages.success(request, _("The delivery will be sent again."))
    else:
        messages.error(request, _("Only a failed delivery can be sent again."))
    return redirect("notifications:webhook", pk=endpoint.pk)


@member_required
@require_POST
def replay_dead(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    count = services.webhook_dead_replay_all(endpoint=endpoint)
    messages.success(request, _("Deliveries sent again: %(count)s.") % {"count": count})
    return redirect("notifications:webhook", pk=endpoint.pk)
