"""Pages: the dossier of a consignment (the "Dossier" tab of the consignment page, and a page
of its own for companies it is shared with), uploads, downloads, previews, the ZIP, shares.

Who may see what is decided by `dossier.selectors` only (`page_reader` says who acts)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from dossier import selectors, services
from dossier.api.views import dossier_zip_response
from dossier.errors import DossierRefusal
from dossier.forms import ShareForm, UploadForm
from dossier.http import file_response, upload_prepare, upload_received
from dossier.models import Document
from dossier.selectors import OWNER, Access, Reader
from dossier.types import CONTENTS, TYPES
from dossier.uploads import (
    EMPTY,
    TOO_LARGE,
    UNSUPPORTED,
    DossierUploadHandler,
    Refused,
    max_bytes,
)
from sesame.selectors import agent_profile_for_user, current_membership, user_has_totp
from tracking.selectors import consignment_timeline


def page_reader(request: HttpRequest) -> Reader:
    """Who acts in a page: an agent of a post (second factor enrolled), or a company member."""
    user: Any = request.user
    agent = agent_profile_for_user(user=user)
    if agent is not None:
        if not user_has_totp(user=user):
            raise PermissionDenied
        return Reader(by=user.email, post=agent.post)
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied
    return Reader(by=user.email, company=membership.company)


def refusal_message(code: str) -> str:
    return {
        UNSUPPORTED: _("This file is not accepted: send a PDF, PNG, JPEG, TIFF or XML file."),
        TOO_LARGE: _("This file is too large: 20 MiB at most."),
        EMPTY: _("This file is empty."),
    }.get(code, _("This file is not accepted."))


def panel_context(*, access: Access, reader: Reader) -> dict[str, Any]:
    """Everything the dossier panel shows, in a constant number of queries."""
    consignment = access.consignment
    documents: QuerySet[Document] = selectors.documents_of_consignment(consignment=consignment)
    by_type: dict[str, list[Document]] = {}
    for document in documents:
        by_type.setdefault(document.type, []).append(document)
    completeness = selectors.dossier_completeness(consignment=consignment)
    owner = access.role == OWNER
    return {
        "consignment": consignment,
        "access": access,
        "owner": owner,
        "groups": [
            {"type": code, "label": TYPES[code].label, "documents": by_type[code]}
            for code in TYPES
            if code in by_type
        ],
        "checklist": [
            {"type": code, "label": TYPES[code].label, "present": code in completeness.present}
            for code in completeness.required
        ],
        "complete": completeness.complete,
        "upload_form": UploadForm() if owner else None,
        "share_form": ShareForm() if owner else None,
        "shares": list(selectors.shares_of_consignment(consignment=consignment)) if owner else [],
        "access_log": selectors.access_log_of_consignment(consignment=consignment, limit=50)
        if owner
        else [],
        "max_bytes": max_bytes(),
        "accepted": ", ".join(content.label for content in CONTENTS.values()),
    }


def _access(request: HttpRequest, pk: int) -> tuple[Access, Reader]:
    reader = page_reader(request)
    return selectors.consignment_for_reader(reader=reader, pk=pk), reader


@login_required
@require_GET
def dossier_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A consignment's dossier with its timeline: for companies it is shared with (the owner
    and agents have it as the "Dossier" tab of the consignment page)."""
    access, reader = _access(request, pk)
    return render(
        request,
        "dossier/dossier_page.html",
        {
            **panel_context(access=access, reader=reader),
            "timeline": consignment_timeline(consignment=access.consignment),
        },
    )


@login_required
@require_GET
def dossier_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel alone, which the page fetches again after an upload."""
    access, reader = _access(request, pk)
    return render(request, "dossier/_panel.html", panel_context(access=access, reader=reader))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@csrf_exempt  # the body is read by the dossier's upload handler, then CSRF is checked
@login_required
@require_POST
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    access, reader = _access(request, pk)
    try:
        # Before anything reads the body (the CSRF check reads the form): stream the file.
        handler = upload_prepare(request)
    except Refused as exc:
        handler = exc  # type: ignore[assignment]
    return _upload_checked(request, access, reader, handler)


@csrf_protect
def _upload_checked(
    request: HttpRequest, access: Access, reader: Reader, handler: DossierUploadHandler | Refused
) -> HttpResponse:
    status, payload = _upload(request, access, reader, handler)
    if _wants_json(request):
        return JsonResponse(payload, status=status)
    if status in (200, 201):
        messages.success(request, payload["detail"])
    else:
        messages.error(request, payload["detail"])
    return redirect("dossier:page", pk=access.consignment.pk)


def _upload(
    request: HttpRequest, access: Access, reader: Reader, handler: DossierUploadHandler | Refused
) -> tuple[int, dict[str, Any]]:
    if not access.can_write:
        return 403, {"code": "read_only", "detail": _("This dossier is shared with you read-only.")}
    try:
        if isinstance(handler, Refused):
            raise handler
        form = UploadForm(request.POST)
        received = upload_received(handler, request.FILES)
    except Refused as exc:
        status = {UNSUPPORTED: 415, TOO_LARGE: 413, EMPTY: 400}[exc.code]
        return status, {"code": exc.code, "detail": refusal_message(exc.code)}
    if received is None:
        return 400, {"code": "invalid", "detail": _("Choose a file to send.")}
    if not form.is_valid():
        detail = " ".join(str(error) for errors in form.errors.values() for error in errors)
        return 400, {"code": "invalid", "detail": detail, "errors": form.errors.get_json_data()}
    try:
        document, created = services.document_upload(
            access=access, reader=reader, received=received, **form.cleaned_data
        )
    except DossierRefusal as exc:
        return exc.status, {"code": exc.code, "detail": exc.detail}
    detail = (
        _("%(type)s added (version %(version)s).")
        if created
        else _("%(type)s: this file is already in the dossier (version %(version)s).")
    ) % {"type": document.type_label, "version": document.version}
    return (201 if created else 200), {"code": "ok", "detail": detail, "document": document.pk}


def _document(request: HttpRequest, pk: int) -> tuple[Document, Reader]:
    reader = page_reader(request)
    document, _role = selectors.document_for_reader(reader=reader, pk=pk)
    if document.purged_at is not None:
        raise Http404("Purged.")
    return document, reader


@login_required
@require_GET
def document_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    document, reader = _document(request, pk)
    services.document_download_record(document=document, reader=reader)
    return file_response(document)


@xframe_options_sameorigin  # shown in the page's preview frame
@login_required
@require_GET
def document_preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    document, reader = _document(request, pk)
    if not document.previewable:
        raise Http404("No preview for this content.")
    services.document_download_record(document=document, reader=reader)
    return file_response(document, inline=True)


@login_required
@require_GET
def dossier_zip(request: HttpRequest, pk: int) -> HttpResponseBase:
    access, reader = _access(request, pk)
    return dossier_zip_response(access=access, reader=reader)


@login_required
@require_POST
def share_create(request: HttpRequest, pk: int) -> HttpResponse:
    access, reader = _access(request, pk)
    if access.role != OWNER:
        raise Http404
    form = ShareForm(request.POST)
    if form.is_valid():
        try:
            share = services.share_create(access=access, by=reader.by, **form.cleaned_data)
        except DossierRefusal as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(
                request, _("Shared read-only with %(name)s.") % {"name": share.company.name}
            )
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(_back(access))


@login_required
@require_POST
def share_end(request: HttpRequest, pk: int, eori: str) -> HttpResponse:
    access, _reader = _access(request, pk)
    if access.role != OWNER or not services.share_end(access=access, eori=eori):
        raise Http404
    messages.success(request, _("The share has ended."))
    return redirect(_back(access))


def _back(access: Access) -> str:
    from django.urls import reverse

    return reverse("tracking:detail", args=[access.consignment.pk]) + "#dossier"


@login_required
@require_GET
def shared_with_us(request: HttpRequest) -> HttpResponse:
    reader = page_reader(request)
    if reader.company is None:
        raise PermissionDenied
    return render(
        request,
        "dossier/shared.html",
        {"shares": selectors.consignments_shared_with(company=reader.company)},
    )
