"""A request id on every response (``X-Request-Id``) and in every log line of the request.

Kept free of DRF imports: the logging configuration loads ``RequestIdFilter`` before the apps.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}$")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served ("-" outside a request)."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Gives every log record the ``request_id`` of the request it was written for."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx or 5xx after the middleware has returned; it passes the request.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        return True


class RequestIdMiddleware:
    """``X-Request-Id`` on every response: the client's (or the front's) when it is a sane
    token of at most 128 characters, else a new one; also in every log line of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
