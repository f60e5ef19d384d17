"""GUN pages: the agents' review queue and decisions, operators' declarations and documents,
partner link status. Thin: parse, call one selector or service, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gun import queries, services
from gun.forms import ControlDecisionForm, DeclarationFilterForm, QueueFilterForm
from gun.models import Declaration, DeclarationStatus
from gun.services import GunError
from sesame.access import agent_required, member_required, of_post, post_object_or_404
from sesame.confirm import confirmation

PAGE_SIZE = 25


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


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
        queries.review_queue(post_id=None, status=None if status == "all" else status),
        post=agent.post,
    )
    query = data.copy()
    query.pop("page", None)
    return render(
        request,
        "gun/review_queue.html",
        {
            "form": form,
            "page": _page(request, queryset),
            "query": query.urlencode(),
            "post": agent.post,
        },
    )


def _review_context(declaration: Declaration, form: ControlDecisionForm | None) -> dict:
    detail = queries.declaration_detail(declaration=declaration, show_all_balances=True)
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
        queries.declaration_for_review(pk=pk),
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
    queryset = queries.declarations_of_company(
        company=company, status=form.cleaned_data["status"], search=form.cleaned_data["q"]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "gun/declaration_list.html",
        {"form": form, "page": _page(request, queryset), "query": query.urlencode()},
    )


@member_required
@require_GET
def declaration_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """Another company's declaration is 404: its existence is not revealed."""
    company = request.membership.company  # type: ignore[attr-defined]
    declaration = queries.declaration_of_company(company=company, pk=pk)
    if declaration is None:
        raise Http404
    detail = queries.declaration_detail(declaration=declaration, show_all_balances=False)
    return render(
        request,
        "gun/declaration_detail.html",
        {"declaration": declaration, "detail": detail, "company": company},
    )


@member_required
@require_GET
def partner_documents(request: HttpRequest) -> HttpResponse:
    """Documents held by the company's EORI, with their balances and holders."""
    company = request.membership.company  # type: ignore[attr-defined]
    page = _page(request, queries.partner_documents_of_holder(eori=company.eori))
    documents = list(page.object_list)
    balances = queries.document_balances(documents)
    rows = [(document, balances.get(document.pk, [])) for document in documents]
    return render(
        request,
        "gun/partner_documents.html",
        {"page": page, "rows": rows, "company": company},
    )


# --- everyone ----------------------------------------------------------------------------


@login_required
@require_GET
def partner_links(request: HttpRequest) -> HttpResponse:
    return render(request, "gun/partner_links.html", {"links": queries.partner_link_statuses()})
