"""GUN pages: the agents' review queue and decisions, operators' declarations and documents,
partner link status. Thin: parse, call one selector or service, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gun import selectors, services
from gun.forms import (
    FIELD_LABELS,
    ControlDecisionForm,
    DeclarationFilterForm,
    DocumentFilterForm,
    QueueFilterForm,
    RectificationForm,
    message_place,
)
from gun.models import Declaration, DeclarationStatus
from gun.services import GunError, GunInvalid, StatusConflict
from sesame.access import agent_required, member_required, of_post, post_object_or_404
from sesame.confirm import confirmation
from sesame.pagination import page_of

PAGE_SIZE = 25


def _page(request: HttpRequest, queryset: Any) -> Any:
    return page_of(request, queryset, per_page=PAGE_SIZE)


def _refusal_text(exc: GunError) -> str:
    """A service refusal as a sentence for the agent, by its stable code."""
    code = exc.code
    if code == "control_open":
        return _("The control is still open: record a decision first.")
    if code == "control_unjustified":
        return _(
            "The control was found unjustified: release waits for a rectification that passes "
            "every check."
        )
    if code.startswith("control_"):
        return _("This declaration has no open control any more.")
    if code.startswith("status_"):
        status = code.removeprefix("status_")
        label = dict(DeclarationStatus.choices).get(status, status)
        return _("Not possible for a declaration in status “%(status)s”.") % {"status": label}
    if code == "busy":
        return _("The documents are busy with another declaration: try again in a moment.")
    return exc.detail


# --- agents ------------------------------------------------------------------------------


@agent_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """Declarations under control at the agent's post, by default the open controls."""
    agent = request.agent  # type: ignore[attr-defined]
    data = request.GET.copy()
    data.setdefault("status", "open")
    form = QueueFilterForm(data)
    if not form.is_valid():
        return render(
            request,
            "gun/review_queue.html",
            {"form": form, "page": None, "post": agent.post},
            status=400,
        )
    status = form.cleaned_data["status"] or "open"
    queryset = of_post(
        selectors.review_queue(
            post_id=None,
            status=None if status == "all" else status,
            search=form.cleaned_data["q"],
        ),
        post=agent.post,
    )
    return render(
        request,
        "gun/review_queue.html",
        {
            "form": form,
            "page": _page(request, queryset),
            "post": agent.post,
            "searched": form.cleaned_data["q"],
        },
    )


def _review_context(declaration: Declaration, form: ControlDecisionForm | None) -> dict:
    detail = selectors.declaration_detail(declaration=declaration, show_all_balances=True)
    _place_beside(detail)
    return {
        "declaration": declaration,
        "detail": detail,
        "form": form or ControlDecisionForm(),
        "can_decide": declaration.control_status == "open" and declaration.status == "validated",
        "can_release": declaration.status == "validated" and not declaration.release_blocked,
    }


def _declaration_for_review(request: HttpRequest, pk: Any) -> Declaration:
    """A declaration of the agent's post (sesame.access): another post's, or one of no post,
    is 404 like an unknown one."""
    return post_object_or_404(
        selectors.declaration_for_review(pk=pk),
        post=request.agent.post,  # type: ignore[attr-defined]
    )


@agent_required
@require_GET
def review_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    declaration = _declaration_for_review(request, pk)
    return render(request, "gun/review_detail.html", _review_context(declaration, None))


@agent_required
@require_POST
def review_decide(request: HttpRequest, pk: Any) -> HttpResponse:
    """Record `justified` or `unjustified` (comment required) through the control service."""
    declaration = _declaration_for_review(request, pk)
    form = ControlDecisionForm(request.POST)
    if not form.is_valid():
        return render(
            request, "gun/review_detail.html", _review_context(declaration, form), status=400
        )
    try:
        services.control_decide(
            declaration=declaration,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
            agent=request.user,
        )
    except GunError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("gun:review-detail", pk=declaration.pk)


@agent_required
@require_POST
def review_release(request: HttpRequest, pk: Any) -> HttpResponse:
    """Grant release (BAE) through the release service, after confirmation (sesame.confirm); a
    refusal is shown as a message."""
    declaration = _declaration_for_review(request, pk)
    asked = confirmation(
        request,
        question=_("Grant release (BAE) of declaration %(mrn)s?")
        % {"mrn": declaration.mrn or declaration.client_reference},
        detail=_("Release cannot be undone: the reservations become imputations on the documents."),
        confirm_label=_("Grant release (BAE)"),
        cancel_url=reverse("gun:review-detail", args=[declaration.pk]),
    )
    if asked:
        return asked
    try:
        services.declaration_release(declaration=declaration, by=request.user)
    except GunError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(request, _("Release (BAE) granted."))
    return redirect("gun:review-detail", pk=declaration.pk)


# --- operators ---------------------------------------------------------------------------


@member_required
@require_GET
def declaration_list(request: HttpRequest) -> HttpResponse:
    company = request.membership.company  # type: ignore[attr-defined]
    form = DeclarationFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request, "gun/declaration_list.html", {"form": form, "page": None}, status=400
        )
    queryset = selectors.declarations_for_company(
        company=company, status=form.cleaned_data["status"], search=form.cleaned_data["q"]
    )
    return render(
        request,
        "gun/declaration_list.html",
        {
            "form": form,
            "page": _page(request, queryset),
            "filtered": bool(form.cleaned_data["status"] or form.cleaned_data["q"]),
        },
    )


def _operator_declaration(request: HttpRequest, pk: Any) -> Declaration:
    """The company's declaration; another company's is 404 (its existence is not revealed)."""
    company = request.membership.company  # type: ignore[attr-defined]
    declaration = selectors.declaration_get(pk=pk, company=company)
    if declaration is None:
        raise Http404
    return declaration


def _place_beside(detail: selectors.DeclarationDetail) -> list[Any]:
    """Attach each message of the last run to the item or document it names (`gun_messages`,
    with the field it concerns); returns the header's (F047 names the importer)."""
    header = []
    for item, documents in detail.items:
        item.gun_messages = []  # type: ignore[attr-defined]
        for view in documents:
            view.gun_messages = []  # type: ignore[attr-defined]
        for message in detail.last_messages:
            if message.item != item.item_number:
                continue
            place = message_place(message.code, message.document_index)
            entry = (FIELD_LABELS.get(place.field, ""), message)
            index = message.document_index
            if place.level == "header" and index is None:
                header.append(entry)
            elif index is not None and index < len(documents):
                documents[index].gun_messages.append(entry)  # type: ignore[attr-defined]
            else:
                item.gun_messages.append(entry)  # type: ignore[attr-defined]
    return header


@member_required
@require_GET
def declaration_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """The declaration with every GUN message beside what it concerns, and what the operator
    may do now (validate, rectify, cancel: as the API allows in its status)."""
    declaration = _operator_declaration(request, pk)
    detail = selectors.declaration_detail(declaration=declaration, show_all_balances=False)
    header_messages = _place_beside(detail)
    return render(
        request,
        "gun/declaration_detail.html",
        {
            "declaration": declaration,
            "detail": detail,
            "company": declaration.company,
            "header_messages": header_messages,
            **_operator_actions(declaration),
        },
    )


def _operator_actions(declaration: Declaration) -> dict[str, bool]:
    """API.md: validate an anticipated declaration; rectify a validated one before release;
    cancel either before release."""
    status = declaration.status
    return {
        "can_validate": status == DeclarationStatus.ANTICIPATED,
        "can_rectify": status == DeclarationStatus.VALIDATED,
        "can_cancel": status in (DeclarationStatus.ANTICIPATED, DeclarationStatus.VALIDATED),
    }


@member_required
@require_POST
def declaration_validate(request: HttpRequest, pk: Any) -> HttpResponse:
    """Validate through the same service as `POST /api/v1/declarations/{id}/validate/`."""
    declaration = _operator_declaration(request, pk)
    try:
        result = services.declaration_validate(declaration=declaration, by=request.user)
    except GunError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        current = result.declaration
        if result.rejected:
            messages.error(
                request,
                _(
                    "The GUN rejected the validation: each message is shown beside what it "
                    "concerns; correct the declaration in your customs software and validate "
                    "again."
                ),
            )
        elif current.control_required:
            messages.warning(
                request,
                _(
                    "Validated under customs control (mention 73000): MRN %(mrn)s. Release "
                    "waits for the customs office's decision."
                )
                % {"mrn": current.mrn},
            )
        else:
            messages.success(request, _("Validated: MRN %(mrn)s.") % {"mrn": current.mrn})
    return redirect("gun:declaration", pk=declaration.pk)


@member_required
@require_POST
def declaration_cancel(request: HttpRequest, pk: Any) -> HttpResponse:
    """Cancel, after confirmation (sesame.confirm), through the same service as the API."""
    declaration = _operator_declaration(request, pk)
    asked = confirmation(
        request,
        question=_("Cancel declaration %(reference)s?")
        % {"reference": declaration.mrn or declaration.client_reference},
        detail=_(
            "A cancelled declaration cannot be validated, rectified or released any more; its "
            "reservations on the documents are released."
        ),
        confirm_label=_("Cancel the declaration"),
        cancel_url=reverse("gun:declaration", args=[declaration.pk]),
    )
    if asked:
        return asked
    try:
        services.declaration_cancel(declaration=declaration, by=request.user)
    except GunError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(request, _("The declaration is cancelled."))
    return redirect("gun:declaration", pk=declaration.pk)


def _rectify_page(
    request: HttpRequest,
    declaration: Declaration,
    form: RectificationForm | None,
    *,
    status: int = 200,
    unplaced: list[Any] | None = None,
    rejected: bool = False,
) -> HttpResponse:
    return render(
        request,
        "gun/declaration_rectify.html",
        {
            "declaration": declaration,
            "form": form,
            "unplaced": unplaced or [],
            "rejected": rejected,
        },
        status=status,
    )


@member_required
@require_http_methods(["GET", "POST"])
def declaration_rectify(request: HttpRequest, pk: Any) -> HttpResponse:
    """Rectify a validated declaration before release, through the same service as
    `POST /api/v1/declarations/{id}/rectify/`: the form is checked by the API's serializer,
    refused input is answered in the form (400), a GUN rejection shows each message beside
    the field it concerns (422) and changes nothing else."""
    declaration = _operator_declaration(request, pk)
    if declaration.status != DeclarationStatus.VALIDATED:
        messages.error(request, _refusal_text(StatusConflict(declaration.status, "rectified")))
        if request.method == "GET":
            return redirect("gun:declaration", pk=declaration.pk)
        return _rectify_page(request, declaration, None, status=409)
    detail = selectors.declaration_detail(declaration=declaration, show_all_balances=False)
    items = [(item, [view.document for view in views]) for item, views in detail.items]
    if request.method == "GET":
        form = RectificationForm(declaration=declaration, items=items)
        unplaced = form.place_messages(detail.last_messages, from_payload=False)
        return _rectify_page(request, declaration, form, unplaced=unplaced)
    if request.POST.get("version") != str(declaration.version):
        form = RectificationForm(declaration=declaration, items=items)
        form.non_field_errors.append(
            _("The declaration changed while you were editing it: here it is as it is now.")
        )
        form.place_messages(detail.last_messages, from_payload=False)
        return _rectify_page(request, declaration, form, status=409)
    form = RectificationForm(declaration=declaration, items=items, data=request.POST)
    if not form.is_valid():
        return _rectify_page(request, declaration, form, status=400)
    try:
        result = services.declaration_rectify(
            declaration=declaration, data=form.payload or {}, by=request.user
        )
    except GunInvalid as exc:
        form.add_error(exc.field, exc.detail)
        return _rectify_page(request, declaration, form, status=400)
    except GunError as exc:
        form.non_field_errors.append(_refusal_text(exc))
        return _rectify_page(request, declaration, form, status=409)
    if result.rejected:
        run_messages = [
            selectors.MessageView(message) for message in result.run.messages.order_by("order")
        ]
        unplaced = form.place_messages(run_messages, from_payload=True)
        declaration.version = result.declaration.version
        return _rectify_page(
            request, declaration, form, status=422, unplaced=unplaced, rejected=True
        )
    messages.success(request, _("Rectification accepted by the GUN."))
    return redirect("gun:declaration", pk=declaration.pk)


@member_required
@require_GET
def partner_documents(request: HttpRequest) -> HttpResponse:
    """Documents held by the company's EORI, with their balances and holders."""
    company = request.membership.company  # type: ignore[attr-defined]
    form = DocumentFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "gun/partner_documents.html",
            {"form": form, "page": None, "rows": [], "company": company},
            status=400,
        )
    queryset = selectors.partner_documents_of_holder(
        eori=company.eori, search=form.cleaned_data["q"]
    )
    page = _page(request, queryset)
    documents = list(page.object_list)
    balances = selectors.document_balances(documents)
    rows = [(document, balances.get(document.pk, [])) for document in documents]
    return render(
        request,
        "gun/partner_documents.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "company": company,
            "searched": form.cleaned_data["q"],
        },
    )


# --- everyone ----------------------------------------------------------------------------


@login_required
@require_GET
def partner_links(request: HttpRequest) -> HttpResponse:
    return render(request, "gun/partner_links.html", {"links": selectors.partner_link_statuses()})
