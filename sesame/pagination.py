"""Pagination of the list pages: one helper for every app, rendered by
templates/sesame/_pagination.html (DSFR pagination)."""

from typing import Any

from django.core.paginator import InvalidPage, Page, Paginator
from django.http import Http404, HttpRequest

PAGE_SIZE = 50
PAGE_PARAMETER = "page"


def page_of(request: HttpRequest, items: Any, *, per_page: int = PAGE_SIZE) -> Page:
    """The page of ``items`` (a queryset in a fixed order, or a list) asked for by ``?page=``:
    two queries for a queryset (its count, then the page's rows), whatever its length.

    A page number that is not a number, or beyond the last page, is a 404 (the list changed
    under the reader, or the address was typed): the error page links back. An empty list has
    one empty page.
    """
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(request.GET.get(PAGE_PARAMETER) or 1)
    except InvalidPage as exc:
        raise Http404(str(exc)) from exc
