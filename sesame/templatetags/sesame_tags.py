"""Template helpers shared by the pages of every app: pagination links, readable actors."""

from typing import Any

from django import template
from django.core.paginator import Page
from django.utils.translation import gettext as _

from sesame.pagination import PAGE_PARAMETER

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int) -> str:
    """The current address with ``?page=number`` and every other parameter kept (filters)."""
    query = context["request"].GET.copy()
    query[PAGE_PARAMETER] = str(number)
    return "?" + query.urlencode()


@register.filter
def page_range(page: Page) -> list[Any]:
    """Page numbers to show around the current one, with … where pages are left out."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1))


@register.filter
def actor(value: Any) -> str:
    """Who did something, as a person reads it: a user's email stays; an API key recorded as
    ``api-key:<prefix>:<owner>`` reads "API key <prefix> (<owner>)"."""
    text = str(value or "")
    if text.startswith("api-key:"):
        parts = text.split(":", 2)
        prefix = parts[1] if len(parts) > 1 else ""
        owner = parts[2] if len(parts) > 2 else ""
        label = _("API key %(prefix)s") % {"prefix": prefix}
        return f"{label} ({owner})" if owner else label
    return text
