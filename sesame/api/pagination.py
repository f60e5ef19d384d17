"""Pagination of every list: page numbers or a cursor, and ``updated_since``.

One class, so every list offers both without code of its own; a list with filters reads its
query with a ``ListQuery`` (below), which knows the pagination's parameters:

- ``?page=N&page_size=M`` (default): ``{"count", "next", "previous", "results"}``, as API.md's
  lists always were;
- ``?cursor=`` (empty for the first page, then the opaque value found in ``next`` or
  ``previous``): ``{"next", "previous", "results"}``, no count. The order is the view's
  ``cursor_ordering`` (default: newest first by creation, ``("-created_at", "-pk")``); a cursor
  names a position in that order, so rows added meanwhile neither shift nor repeat a page.
- ``?updated_since=<RFC 3339 date-time with offset>`` in either mode keeps the rows whose
  ``updated_at`` is at or after it. A view names another field with ``updated_since_field``
  (rows never changed once written: their creation time) or none (``None``: the parameter is
  not offered, and given anyway is 400 ``not_supported``).
  For an exact "everything that changed since" use the change feed (``/api/v1/events/``): a
  row updated by a transaction that commits late can carry an ``updated_at`` older than a time
  a client already passed.
- ``page_size`` is a whole number from 1 to ``max_page_size``, else 400 (not silently clamped).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination as DrfCursorPagination
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from sesame.api.serializers import DATE_TIME_PATTERN, YEAR_MAX, YEAR_MIN, StrictSerializer

DEFAULT_CURSOR_ORDERING = ("-created_at", "-pk")
INVALID_CURSOR = "This cursor is not one this list gave."


def _invalid(field: str, message: str, code: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [exceptions.ErrorDetail(message, code=code)]})


class _Cursor(DrfCursorPagination):
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def decode_cursor(self, request: Request) -> Any:
        if not request.query_params.get(self.cursor_query_param):
            return None  # `?cursor=`: the first page
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise _invalid("cursor", INVALID_CURSOR, "invalid_cursor") from None

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError):
            # A forged position the ordering field cannot hold (the cursor is only base64).
            raise _invalid("cursor", INVALID_CURSOR, "invalid_cursor") from None


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = "cursor"
    updated_since_query_param = "updated_since"

    def __init__(self) -> None:
        self._cursor: _Cursor | None = None

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        queryset = self._updated_since(queryset, request, view)
        if self.cursor_query_param not in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        cursor = _Cursor()
        cursor.page_size = self.get_page_size(request) or self.page_size
        cursor.max_page_size = self.max_page_size
        cursor.ordering = getattr(view, "cursor_ordering", None) or (
            DEFAULT_CURSOR_ORDERING if _has_field(queryset, "created_at") else ("-pk",)
        )
        self._cursor = cursor
        return cursor.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self._cursor is None:
            return super().get_paginated_response(data)
        return Response(
            {
                "next": self._cursor.get_next_link(),
                "previous": self._cursor.get_previous_link(),
                "results": data,
            }
        )

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise _invalid(
                self.page_size_query_param,
                f"Give a whole number from 1 to {self.max_page_size}.",
                "invalid",
            )
        return int(raw)

    def _updated_since(self, queryset: QuerySet[Any], request: Request, view: Any) -> QuerySet[Any]:
        raw = request.query_params.get(self.updated_since_query_param)
        if raw is None:
            return queryset
        name = self.updated_since_query_param
        field = _updated_since_field(view)
        if field is None or not _has_field(queryset, field):
            raise _invalid(name, "This list cannot be filtered by update time.", "not_supported")
        try:
            # An unescaped "+" of the offset arrives as a space in a query string.
            since = parse_datetime(raw.strip().replace(" ", "+"))
        except ValueError:
            since = None
        if since is None or since.tzinfo is None or not YEAR_MIN <= since.year <= YEAR_MAX:
            raise _invalid(
                name,
                "Give an RFC 3339 date-time with its offset, e.g. 2026-12-01T08:00:00+01:00.",
                "invalid_datetime",
            )
        return queryset.filter(**{f"{field}__gte": since})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "Rows in the whole list; absent when paging by cursor.",
                    "example": 123,
                },
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "example": "https://sesame.example.org/api/v1/consignments/?page=3",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "example": "https://sesame.example.org/api/v1/consignments/?page=1",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Page by cursor instead of page number: empty for the first "
                "page, then the value found in `next` or `previous` (no `count`).",
                # Opaque: only values this list gave are valid (400 `invalid_cursor` otherwise).
                "schema": {"type": "string", "format": "cursor"},
            },
            *(
                [
                    {
                        "name": self.updated_since_query_param,
                        "required": False,
                        "in": "query",
                        "description": "Only rows updated at or after this RFC 3339 date-time.",
                        "schema": {
                            "type": "string",
                            "format": "date-time",
                            "pattern": DATE_TIME_PATTERN,
                        },
                    }
                ]
                if _updated_since_field(view)
                else []
            ),
        ]


@extend_schema_field({"type": "string", "format": "cursor"})
class CursorField(serializers.CharField):
    """A list's cursor: opaque, only the values the list gave are valid (the pagination checks
    it: 400 ``invalid_cursor``)."""


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN})
class UpdatedSinceField(serializers.CharField):
    """A list's ``updated_since``: checked by the pagination (400 ``invalid_datetime``), which
    also takes an offset whose unescaped "+" arrived as a space."""


class ListQuery(StrictSerializer):
    """The query of a list: a subclass's filters and the pagination's own parameters
    (the Pagination above, which checks the cursor and the date), so that none is unknown."""

    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(
        min_value=1, max_value=Pagination.max_page_size, required=False
    )
    cursor = CursorField(required=False, allow_blank=True, max_length=1000)
    updated_since = UpdatedSinceField(required=False, max_length=64)

    PAGINATION = (
        Pagination.page_query_param,
        Pagination.page_size_query_param,
        Pagination.cursor_query_param,
        Pagination.updated_since_query_param,
    )

    @property
    def filters(self) -> dict[str, Any]:
        """The validated filters, without the pagination's parameters."""
        return {k: v for k, v in self.validated_data.items() if k not in self.PAGINATION}


def _updated_since_field(view: Any) -> str | None:
    return getattr(view, "updated_since_field", "updated_at")


def _has_field(queryset: QuerySet[Any], name: str) -> bool:
    try:
        queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True
