"""`{% dossier_panel consignment %}`: the dossier tab of the consignment page, for whoever the
request is (the owner company, or an agent of the consignment's post)."""

from typing import Any

from django import template
from django.core.exceptions import PermissionDenied
from django.http import Http404

from dossier import selectors
from dossier.views import page_reader, panel_context

register = template.Library()


@register.inclusion_tag("dossier/_panel.html", takes_context=True)
def dossier_panel(context: template.Context, consignment: Any) -> dict[str, Any]:
    request = context["request"]
    try:
        reader = page_reader(request)
        access = selectors.consignment_for_reader(reader=reader, pk=consignment.pk)
    except (Http404, PermissionDenied):
        return {"hidden": True}
    return {
        **panel_context(access=access, reader=reader),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def filesize_mib(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} Mio".replace(".", ",")
    return f"{max(size // 1024, 1)} kio"
