"""`/api/v1/keys/`: a key lists the keys of its owner (its company, or its partner system) and
revokes them. Another owner's key is 404. Creating a key stays with the keys page and the
`create_api_key` command: a key never mints another."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sesame import services
from sesame.api.middleware import no_body
from sesame.api.pagination import Pagination
from sesame.api.permissions import request_company, request_partner
from sesame.models import APIKey
from sesame.selectors import api_keys_for_owner

ERROR = OpenApiResponse(description="Error body: `{code, detail, errors?}`.")


class KeySerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.CharField())
    last_used_at = serializers.DateTimeField(allow_null=True)
    expiry_date = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = APIKey
        fields = ["prefix", "name", "scopes", "created", "last_used_at", "revoked", "expiry_date"]
        read_only_fields = fields


KEY_EXAMPLE = OpenApiExample(
    "A key",
    value={
        "prefix": "Xk2PqA9z",
        "name": "ERP nightly sync",
        "scopes": ["declarations:write", "consignments:read"],
        "created": "2026-11-30T09:12:44+01:00",
        "last_used_at": "2026-12-01T08:03:10+01:00",
        "revoked": False,
        "expiry_date": None,
    },
    response_only=True,
)


def _keys(request: Request) -> Any:
    return api_keys_for_owner(company=request_company(request), partner=request_partner(request))


def _key_or_404(request: Request, prefix: str) -> APIKey:
    key = _keys(request).filter(prefix=prefix).first()
    if key is None:
        raise Http404
    return key


class KeyList(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    updated_since_field = None  # a key changes (revocation, last use) without a trace

    @extend_schema(
        summary="The API keys of this key's company (or partner system)",
        responses={200: KeySerializer(many=True), 403: ERROR},
        examples=[KEY_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page: Any = paginator.paginate_queryset(_keys(request), request, view=self)
        return paginator.get_paginated_response(KeySerializer(page, many=True).data)


class KeyDetail(APIView):
    @extend_schema(
        summary="One API key of this key's owner",
        responses={200: KeySerializer, 403: ERROR, 404: ERROR},
        examples=[KEY_EXAMPLE],
    )
    def get(self, request: Request, prefix: str) -> Response:
        return Response(KeySerializer(_key_or_404(request, prefix)).data)


class KeyRevoke(APIView):
    @no_body
    @extend_schema(
        summary="Revoke an API key of this key's owner (refused from the next request on)",
        request=None,
        responses={200: KeySerializer, 403: ERROR, 404: ERROR},
        examples=[KEY_EXAMPLE],
    )
    def post(self, request: Request, prefix: str) -> Response:
        key = _key_or_404(request, prefix)
        services.api_key_revoke(key=key)
        key.refresh_from_db()
        return Response(KeySerializer(key).data)
