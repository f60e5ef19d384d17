"""Pages: the inbox, the preferences; the unread counter; Twilio's status callback."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from twilio.request_validator import RequestValidator

from notifications import preferences as prefs
from notifications import selectors, services
from notifications.forms import CodeForm, PhoneForm, PreferencesForm
from notifications.kinds import CHANNEL_LABELS, CHANNELS, KINDS, SMS
from sesame.pagination import page_of
from sesame.selectors import current_membership


def _declaration_url(payload: dict | None) -> str:
    """The operator's page of the declaration an event is about, when the GUN is installed."""
    declaration_id = (payload or {}).get("declaration_id")
    if not declaration_id:
        return ""
    try:
        return reverse("gun:declaration", kwargs={"pk": declaration_id})
    except NoReverseMatch:
        return ""


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = page_of(request, selectors.inbox_for_user(user=request.user))
    is_member = current_membership(request) is not None
    rows = []
    for item in page.object_list:
        kind = KINDS.get(item.kind)
        rows.append(
            {
                "delivery": item,
                "label": kind.label if kind else item.kind,
                "urgent": bool(kind and kind.urgent),
                "declaration_url": (
                    _declaration_url(item.event.payload) if is_member and item.event else ""
                ),
            }
        )
    return render(
        request,
        "notifications/inbox.html",
        {"rows": rows, "page": page, "unread": selectors.unread_count(user=request.user)},
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.inbox_mark_read(user=request.user, delivery_id=pk):
        raise Http404
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.inbox_mark_all_read(user=request.user)
    return redirect("notifications:inbox")


@require_GET
def unread(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse(
            {"code": "not_authenticated", "detail": _("Sign in first.")}, status=401
        )
    return JsonResponse({"unread": selectors.unread_count(user=request.user)})


def _preferences_page(
    request: HttpRequest, *, form=None, phone_form=None, code_form=None, status: int = 200
) -> HttpResponse:
    profile = prefs.profile_for_user(user=request.user)
    matrix = prefs.preferences_for_user(user=request.user)
    pending = (
        request.user.phone_verifications.filter(confirmed_at__isnull=True)  # type: ignore[union-attr]
        .order_by("-created_at")
        .first()
    )
    return render(
        request,
        "notifications/preferences.html",
        {
            "profile": profile,
            "rows": [
                {
                    "kind": KINDS[code],
                    "cells": [
                        {"cell": cells[channel], "label": CHANNEL_LABELS[channel]}
                        for channel in CHANNELS
                    ],
                }
                for code, cells in matrix.items()
            ],
            "channels": [(channel, CHANNEL_LABELS[channel]) for channel in CHANNELS],
            "sms": SMS,
            "form": form
            or PreferencesForm(
                initial={"quiet_start": profile.quiet_start, "quiet_end": profile.quiet_end}
            ),
            "phone_form": phone_form or PhoneForm(),
            "code_form": code_form or CodeForm(),
            "pending_phone": pending.phone if pending else "",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _preferences_page(request)
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, form=form, status=400)
    prefs.preferences_save(user=request.user, enabled=form.enabled)
    prefs.quiet_hours_set(
        user=request.user,
        start=form.cleaned_data["quiet_start"],
        end=form.cleaned_data["quiet_end"],
    )
    messages.success(request, _("Your notification preferences are saved."))
    return redirect("notifications:preferences")


@login_required
@require_POST
def phone_start(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, phone_form=form, status=400)
    try:
        prefs.phone_verification_start(user=request.user, phone=form.cleaned_data["phone"])
    except ValidationError as exc:
        form.add_error("phone", exc)
        return _preferences_page(request, phone_form=form, status=429)
    messages.info(request, _("A code was sent by SMS; enter it below."))
    return redirect("notifications:preferences")


@login_required
@require_POST
def phone_confirm(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, code_form=form, status=400)
    try:
        prefs.phone_verification_confirm(user=request.user, code=form.cleaned_data["code"])
    except ValidationError as exc:
        form.add_error("code", exc)
        return _preferences_page(request, code_form=form, status=400)
    messages.success(request, _("Your phone number is verified."))
    return redirect("notifications:preferences")


@login_required
@require_POST
def phone_remove(request: HttpRequest) -> HttpResponse:
    prefs.phone_remove(user=request.user)
    return redirect("notifications:preferences")


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's message status callback, signed with our auth token over the public URL."""
    signature = request.headers.get("X-Twilio-Signature", "")
    url = settings.SITE_URL.rstrip("/") + request.get_full_path()
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if not signature or not validator.validate(url, request.POST.dict(), signature):
        return JsonResponse({"code": "bad_signature", "detail": "Invalid signature."}, status=403)
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "")
    if not sid or not status or len(sid) > 64 or len(status) > 20:
        return JsonResponse(
            {"code": "invalid", "detail": "MessageSid and MessageStatus are required."},
            status=400,
        )
    delivery = services.delivery_status_record(
        sid=sid, status=status, error_code=request.POST.get("ErrorCode", "")
    )
    if delivery is None:
        return JsonResponse({"code": "not_found", "detail": "Unknown message."}, status=404)
    return HttpResponse(status=204)
