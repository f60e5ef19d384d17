"""Middleware of the API layer: Idempotency-Key on every POST and PATCH, and no body where a
view method declares it takes none. Both apply to views yet to be written."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.views import APIView

from sesame.api import idempotency
from sesame.api.parsers import parse_json

# --- Idempotency-Key ----------------------------------------------------------------------------

IDEMPOTENT_METHODS = ("POST", "PATCH")
CHUNK = 64 * 1024


def _error(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"code": code, "detail": detail}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _owner(request: HttpRequest, view_class: type[APIView]) -> str | None:
    """Whose keys these are: the API key's company or partner (the key authenticated as the
    view will authenticate it); None when the request is not authenticated (the view answers
    401 itself)."""
    drf_request = Request(
        request, authenticators=[auth() for auth in view_class.authentication_classes]
    )
    try:
        key = drf_request.auth
        user = drf_request.user
    except APIException:
        return None
    company_id = getattr(key, "company_id", None)
    if company_id:
        return f"company:{company_id}"
    if getattr(key, "partner", ""):
        return f"partner:{key.partner}"  # type: ignore[union-attr]
    if user is not None and getattr(user, "pk", None):
        return f"user:{user.pk}"
    return None


def _body_chunks(request: HttpRequest) -> Iterator[bytes]:
    """The body, read once: whole when it may be held in memory, else spooled to a temporary
    file (multipart uploads) that then stands in for the request's stream."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        yield request.body
        return
    # Closed by the middleware once the response is done (it outlives this function).
    spool = tempfile.SpooledTemporaryFile(max_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    request._idempotency_spool = spool  # type: ignore[attr-defined]
    stream: Any = request._stream  # type: ignore[attr-defined]
    while chunk := stream.read(CHUNK):
        spool.write(chunk)
        yield chunk
    spool.seek(0)
    request._stream = spool  # type: ignore[assignment]


class IdempotencyMiddleware:
    """Applies ``sesame.api.idempotency`` to every POST and PATCH of a DRF view that carries
    an ``Idempotency-Key`` header (a view may opt out with ``idempotency = False``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        claim = getattr(request, "_idempotency_claim", None)
        if claim is not None:
            idempotency.idempotency_finish(claim=claim, response=response)
        spool = getattr(request, "_idempotency_spool", None)
        if spool is not None:
            spool.close()
        return response

    def process_view(
        self, request: HttpRequest, view: Callable, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        header = request.META.get("HTTP_IDEMPOTENCY_KEY")
        view_class = getattr(view, "cls", None)
        if (
            header is None
            or request.method not in IDEMPOTENT_METHODS
            or not (isinstance(view_class, type) and issubclass(view_class, APIView))
            or not getattr(view_class, "idempotency", True)
            or not hasattr(view_class, (request.method or "").lower())  # 405: nothing to replay
        ):
            return None
        key = idempotency.idempotency_key_parse(header)
        if key is None:
            return _error(
                400,
                "idempotency_key_invalid",
                _("Idempotency-Key: give 1 to 255 printable ASCII characters, e.g. a UUID."),
            )
        owner = _owner(request, view_class)
        if owner is None:
            return None
        fingerprint = idempotency.request_fingerprint(
            method=request.method or "",
            path=request.get_full_path(),
            content_type=request.META.get("CONTENT_TYPE", ""),
            body=_body_chunks(request),
        )
        try:
            outcome = idempotency.idempotency_claim(owner=owner, key=key, fingerprint=fingerprint)
        except idempotency.KeyReused:
            return _error(
                422,
                "idempotency_key_reused",
                _("This Idempotency-Key was used for another request."),
            )
        except idempotency.InProgress:
            return _error(
                409,
                "idempotency_in_progress",
                _("A request with this Idempotency-Key is still running; retry later."),
                **{"Retry-After": "1"},
            )
        if isinstance(outcome, idempotency.Replay):
            replay = HttpResponse(outcome.body, status=outcome.status)
            for name, value in outcome.headers.items():
                replay[name] = value
            replay["Idempotent-Replayed"] = "true"
            return replay
        request._idempotency_claim = outcome  # type: ignore[attr-defined]
        return None


# --- endpoints that take no body ------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def no_body(handler: F) -> F:
    """Declares that a view method takes no request body (``POST …/validate/``): a body other
    than nothing or ``{}`` is refused with 400 instead of being ignored, and the OpenAPI
    document says the operation has no body."""
    handler.takes_no_body = True  # type: ignore[attr-defined]
    return extend_schema(request=None)(handler)


class NoBodyMiddleware:
    """Refuses a body sent to a view method declared with ``no_body``: 400 ``unknown_field``
    (one error per field) for an object, ``malformed_json`` for what is not JSON, ``invalid``
    otherwise. Nothing sent, whitespace or ``{}`` pass."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        view_class = getattr(view, "cls", None)
        handler = getattr(view_class, (request.method or "").lower(), None)
        if not getattr(handler, "takes_no_body", False):
            return None
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length == 0:
            return None
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return _error(413, "payload_too_large", _("This endpoint takes no body."))
        content_type = request.content_type or ""
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            # A form: empty is no body (test clients and some HTTP libraries send one).
            data: Any = {**request.POST.dict(), **dict.fromkeys(request.FILES)}
        else:
            raw = request.body
            if not raw.strip():
                return None
            if content_type not in ("application/json", ""):
                return _error(415, "unsupported_media_type", _("This endpoint takes no body."))
            try:
                data = parse_json(raw)
            except APIException as exc:
                return _error(400, "malformed_json", str(exc.detail))
        if data == {}:
            return None
        if isinstance(data, dict):
            errors = {
                str(name): [{"message": str(_("Unknown field.")), "code": "unknown_field"}]
                for name in data
            }
            return JsonResponse(
                {
                    "code": "invalid",
                    "detail": str(_("The request has invalid fields.")),
                    "errors": errors,
                },
                status=400,
            )
        return _error(400, "invalid", _("This endpoint takes no body."))
