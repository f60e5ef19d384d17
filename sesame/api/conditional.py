"""Optimistic concurrency: an ``ETag`` on every object, ``If-Match`` on the writes that change
it (412 ``precondition_failed``), ``Location`` on 201.

A view acting on one object declares it by inheriting ``ObjectEndpoint`` (before ``APIView``)
and saying, in three small methods, what the object's ETag is in a response body, what it is
now in the database (row locked), and where a created object lives. The ETag is strong and
identifies the stored state of the object (a version column, or the row's last change and its
children's); it does not change with the language or the time of reading.

An unsafe request carrying ``If-Match`` runs in one transaction: the object's row is locked
``FOR UPDATE`` while its current ETag is compared, and stays locked until the write commits,
so of two writers holding the same ETag exactly one succeeds and the other gets 412.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The object has changed since the ETag given in If-Match: read it again.")
    default_code = "precondition_failed"


def object_etag(kind: str, *state: object) -> str:
    """A strong ETag for the object ``kind`` in the state described by ``state`` (its id and
    version fields): opaque, the same for the same state in every process."""
    digest = hashlib.sha256("\x1f".join(map(str, (kind, *state))).encode()).hexdigest()
    return f'"{digest[:32]}"'


def if_match_holds(header: str, current: str | None) -> bool:
    """RFC 9110 §13.1.1: ``*`` holds when the object exists; otherwise one of the listed tags
    must equal the current ETag by strong comparison (a weak tag never matches)."""
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if current is None:
        return False
    return "*" in tags or current in tags


class ObjectEndpoint:
    """Mixin for an APIView acting on one object (detail, actions, and the create of a list)."""

    def etag_of(self, data: Any) -> str | None:
        """The ETag of the object a 2xx response body carries (None: not an object body)."""
        return None

    def current_etag(self, request: Request, **kwargs: Any) -> str | None:
        """The object's ETag now, its row locked FOR UPDATE until the request's transaction
        ends; raise Http404 when the caller may not see it. None: nothing to compare with."""
        return None

    def location_of(self, data: Any) -> str | None:
        """The path of the object a 201 response created."""
        return None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in SAFE_METHODS and request.META.get("HTTP_IF_MATCH"):
            # The lock taken by current_etag holds until the write commits.
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        header = request.META.get("HTTP_IF_MATCH")
        unsafe = request.method not in SAFE_METHODS
        if header and unsafe and not if_match_holds(header, self.current_etag(request, **kwargs)):
            raise PreconditionFailed

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if 200 <= response.status_code < 300 and hasattr(response, "data"):
            etag = self.etag_of(response.data)
            if etag:
                response["ETag"] = etag
            if response.status_code == status.HTTP_201_CREATED:
                location = self.location_of(response.data)
                if location:
                    response["Location"] = request.build_absolute_uri(location)
        return response
