"""One error body for every 4xx: `{"code": ..., "detail": ..., "errors": {...}}`.

`code` is stable and machine-readable; `errors` (validation only) maps each field to a list of
`{"message", "code"}`.
"""

import functools
import logging
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError, IntegrityError
from django.db.models import BaseConstraint
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The object is in a status where this action is not allowed (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This action is not allowed in the object's current status.")
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy("The request was understood but refused by a business rule.")
    default_code = "unprocessable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "payload_too_large"


@functools.cache
def _constraints() -> dict[str, BaseConstraint]:
    """Every model constraint of the project by name (names are unique in the database)."""
    return {
        constraint.name: constraint
        for model in apps.get_models()
        for constraint in model._meta.constraints
        if constraint.name
    }


def database_refusal(exc: IntegrityError | DataError) -> exceptions.APIException:
    """What the API answers when the database refuses a write (it is the last line of
    defence): a unique or other constraint violated by the request, usually by a concurrent
    request that won the race, is 409 with the constraint's ``violation_error_code`` (e.g.
    ``consignment_reference_taken``), else ``already_exists`` / ``constraint_violated``; a value
    the database cannot hold is 400 ``invalid_value``. Never a 500."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    if isinstance(exc, DataError):
        logger.warning("value refused by the database: %s", getattr(cause, "pgcode", ""))
        return exceptions.ValidationError(
            {
                "non_field_errors": [
                    exceptions.ErrorDetail(_("A value cannot be stored."), code="invalid_value")
                ]
            }
        )
    logger.warning("write refused by the database constraint %r", name)
    constraint = _constraints().get(name)
    unique = getattr(cause, "pgcode", "") == "23505"
    if constraint is not None and constraint.violation_error_code:
        code = constraint.violation_error_code
        detail = str(constraint.get_violation_error_message())
    elif unique:
        code, detail = "already_exists", _("An object with these values already exists.")
    else:
        code, detail = "constraint_violated", _("This change conflicts with the stored data.")
    return Conflict(detail, code=code)


# Details of errors raised in English by code this layer does not own (key authentication),
# given in the language of the request (Accept-Language, French by default).
DETAILS = {
    "api_key_unknown": gettext_lazy("Unknown API key."),
    "api_key_revoked": gettext_lazy("This API key is revoked."),
    "api_key_expired": gettext_lazy("This API key has expired."),
    "bad_authorization_header": gettext_lazy("Use the header 'Authorization: Api-Key <key>'."),
}


def _first_code(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_code(next(iter(detail.values())))
    return getattr(detail, "code", None) or "error"


def _full(details: Any) -> Any:
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return details
    if isinstance(details, dict):
        return {key: _full(value) for key, value in details.items()}
    if isinstance(details, list):
        return [_full(value) for value in details]
    return details


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, IntegrityError | DataError):
        exc = database_refusal(exc)
        set_rollback()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return server_error(exc)
    if not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, list | str):
            detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
        body: dict[str, Any] = {
            "code": "invalid",
            "detail": _("The request has invalid fields."),
            "errors": _full(exceptions.ValidationError(detail).get_full_details()),
        }
    else:
        message = exc.detail
        code = message.code if hasattr(message, "code") else _first_code(message)
        code = code or exc.default_code
        # Messages written in English where they are raised, in the request's language here.
        body = {"code": code, "detail": str(DETAILS.get(code, message))}
        extra = getattr(exc, "extra", None)
        if extra:
            body.update(extra)
    response.data = body
    return response


def server_error(exc: Exception) -> Response:
    """An unexpected exception: logged with its traceback (and the request id), answered in the
    API's error shape, without a debug page even when DEBUG is on."""
    logger.error("unexpected error in an API view", exc_info=exc)
    set_rollback()
    return Response(
        {"code": "server_error", "detail": _("Internal error; it has been logged.")},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


@csrf_exempt
def api_not_found(request: object, *args: object, **kwargs: object) -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape, not with an HTML page."""
    return JsonResponse({"code": "not_found", "detail": _("No such endpoint.")}, status=404)
