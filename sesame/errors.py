"""The portal's error pages: 400, 403, 404, 405, 500 and a refused form (CSRF), in the site's
layout and language, each with a way back. Under /api/ the JSON error body instead.

Every app gets them without doing anything: raise ``Http404`` or ``PermissionDenied``, decorate a
view with ``require_POST``; the handlers are wired in ``sesame.urls`` (handler400 …) and the
405 page by ``MethodNotAllowedMiddleware``. They apply whatever DEBUG says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.template import loader
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

API_PREFIX = "/api/"


@dataclass(frozen=True)
class ErrorPage:
    status: int
    code: str  # the API's error code for the same status
    title: Any  # lazy translation
    text: Any


ERRORS: dict[int, ErrorPage] = {
    page.status: page
    for page in (
        ErrorPage(
            400,
            "bad_request",
            _("Request not understood"),
            _("The address or the form sent is not valid. Check it and try again."),
        ),
        ErrorPage(
            403,
            "permission_denied",
            _("Access refused"),
            _("Your account does not give access to this page."),
        ),
        ErrorPage(
            404,
            "not_found",
            _("Page not found"),
            _(
                "The page you are looking for does not exist, has moved, or is not available to "
                "your account."
            ),
        ),
        ErrorPage(
            405,
            "method_not_allowed",
            _("Action not available here"),
            _("This address cannot be opened directly: use the buttons of the page it belongs to."),
        ),
        ErrorPage(
            500,
            "server_error",
            _("Unexpected error"),
            _(
                "Sorry, something went wrong on our side. Try again in a moment; if it happens "
                "again, tell your contact at the port what you were doing."
            ),
        ),
    )
}
CSRF_PAGE = ErrorPage(
    403,
    "csrf_failed",
    _("Form expired"),
    _(
        "The form was sent from a page that had expired, or your browser refused the session "
        "cookie. Nothing was changed: go back, reload the page and send the form again."
    ),
)


def _referrer(request: HttpRequest) -> str:
    """The previous page when it is one of ours (same host), else ''."""
    referer = request.headers.get("Referer", "")
    if not referer:
        return ""
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 page of a request for another host
        return ""
    parts = urlsplit(referer)
    if parts.netloc != host or parts.path == request.path:
        return ""
    return referer


def error_response(
    request: HttpRequest, page: ErrorPage, *, minimal: bool = False, **headers: str
) -> HttpResponse:
    """The error page for ``page`` (JSON under /api/). ``minimal``: rendered without context
    processors or the signed-in header, which need the session and the database (500)."""
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            {"code": page.code, "detail": str(page.title), "errors": {}}, status=page.status
        )
    else:
        context = {
            "error": page,
            "back_url": _referrer(request),
            "minimal": minimal,
            "LANGUAGE_CODE": get_language() or "fr",
            "request": request,
        }
        template = loader.get_template("error.html")
        body = template.render(context) if minimal else template.render(context, request)
        response = HttpResponse(body, status=page.status)
    for name, value in headers.items():
        response[name] = value
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, ERRORS[400])


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, ERRORS[403])


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, ERRORS[404])


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, ERRORS[500], minimal=True)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the form was refused; say so, and how to send it again."""
    return error_response(request, CSRF_PAGE)


class MethodNotAllowedMiddleware:
    """A page opened with the wrong method (``require_POST`` views opened by a link): the 405
    error page, with its ``Allow`` header, instead of an empty body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            return error_response(request, ERRORS[405], Allow=response["Allow"])
        return response
