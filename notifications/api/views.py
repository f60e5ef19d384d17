"""The change feed and the webhook endpoints of a company (company keys): thin views, one
service or selector each. Another company's endpoint or delivery is 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.api.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EventTypeSerializer,
    FeedPageSerializer,
    FeedQuerySerializer,
    RotateInputSerializer,
)
from notifications.feed import selectors as feed
from notifications.feed.types import EVENT_TYPES
from notifications.webhooks import selectors, services
from notifications.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from sesame.api.errors import Conflict
from sesame.api.middleware import no_body
from sesame.api.pagination import Pagination
from sesame.api.permissions import IsCompanyKey, request_company

ERROR = OpenApiResponse(description="Error body: `{code, detail, errors?}`.")

EVENT_EXAMPLE = {
    "id": "evt_1042",
    "type": "declaration.validated",
    "timestamp": "2026-12-01T09:30:12.482913+01:00",
    "subject": {"type": "declaration", "id": "6f1c7a52-8f0e-4f7e-9a55-0b8f4bd0e6a1"},
    "data": {
        "declaration": {
            "id": "6f1c7a52-8f0e-4f7e-9a55-0b8f4bd0e6a1",
            "client_reference": "ACME-0042",
            "importer_eori": "FR73282932000074",
            "status": "validated",
            "mrn": "26FR000000000123R4",
            "control_required": False,
            "control_status": "none",
            "version": 1,
            "url": "/api/v1/declarations/6f1c7a52-8f0e-4f7e-9a55-0b8f4bd0e6a1/",
        },
        "gun": {"stage": "validation", "outcome": "accepted"},
    },
}


def _company(request: Request) -> Any:
    company = request_company(request)
    assert company is not None  # IsCompanyKey
    return company


def _drf(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(serializers.as_serializer_error(exc))


def _endpoint_or_404(request: Request, pk: Any) -> WebhookEndpoint:
    endpoint = selectors.endpoint_get(company=_company(request), pk=pk)
    if endpoint is None:
        raise Http404
    return endpoint


def _delivery_or_404(request: Request, pk: Any, delivery_pk: Any) -> WebhookDelivery:
    delivery = selectors.delivery_get(endpoint=_endpoint_or_404(request, pk), pk=delivery_pk)
    if delivery is None:
        raise Http404
    return delivery


def _input(serializer_class: type[serializers.Serializer], request: Request, **kw: Any) -> Any:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError(
            {"non_field_errors": [exceptions.ErrorDetail("Send a JSON object.", code="invalid")]}
        )
    serializer = serializer_class(data=request.data, **kw)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- the change feed ---------------------------------------------------------------------


class EventFeed(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="The change feed: everything the company may see, in commit order",
        description=(
            "Read from the start, then follow `next` (the id of the last event read in "
            "`after`). Events of a company are in the order their transactions committed, so "
            "resuming after an id never skips an event that committed late. Each event is the "
            "document a webhook of its type carries."
        ),
        parameters=[
            OpenApiParameter(
                "after",
                {"type": "string", "pattern": "^(evt_[0-9]{1,18})?$"},
                description="The id of the last event read (evt_<n>); empty: the start.",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 500},
                description="1 to 500 (default 100).",
            ),
            OpenApiParameter(
                "type",
                str,
                many=True,
                enum=list(EVENT_TYPES),
                description="Only these types (repeat the parameter).",
            ),
        ],
        responses={200: FeedPageSerializer, 400: ERROR, 403: ERROR},
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "next": "https://sesame.example.org/api/v1/events/?after=evt_1042",
                    "previous": None,
                    "has_more": False,
                    "results": [EVENT_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = FeedQuerySerializer(
            data={
                **request.query_params.dict(),
                "type": request.query_params.getlist("type"),
            }
        )
        query.is_valid(raise_exception=True)
        values = query.validated_data
        after = 0
        if values.get("after"):
            position = feed.event_position(values["after"])
            if position is None:
                raise exceptions.ValidationError(
                    {
                        "after": [
                            exceptions.ErrorDetail(
                                "Give the id of an event (evt_<n>).", code="invalid_cursor"
                            )
                        ]
                    }
                )
            after = position
        limit = values["limit"]
        events = feed.company_events_after(
            company=_company(request), after=after, limit=limit + 1, types=values.get("type")
        )
        has_more = len(events) > limit
        events = events[:limit]
        last = events[-1].public_id if events else values.get("after")
        params: dict[str, Any] = {"limit": limit}
        if last:
            params["after"] = last
        if values.get("type"):
            params["type"] = values["type"]
        next_url = request.build_absolute_uri(request.path + "?" + urlencode(params, doseq=True))
        return Response(
            FeedPageSerializer(
                {"next": next_url, "previous": None, "has_more": has_more, "results": events}
            ).data
        )


# --- webhook endpoints --------------------------------------------------------------------


class EventTypeList(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="Every event type a webhook may subscribe to",
        responses={200: EventTypeSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"code": t.code, "subject": t.subject, "label": str(t.label)}
                for t in EVENT_TYPES.values()
            ]
        )


class EndpointList(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="The company's webhook endpoints",
        responses={200: EndpointSerializer(many=True), 403: ERROR},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page: Any = paginator.paginate_queryset(
            selectors.endpoints_for_company(company=_company(request)), request, view=self
        )
        return paginator.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(
        summary="Subscribe a URL to event types (the signing secret is in this answer only)",
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer, 400: ERROR, 403: ERROR},
        examples=[
            OpenApiExample(
                "Declaration outcomes and releases",
                value={
                    "url": "https://erp.acme.example/hooks/sesame",
                    "event_types": [
                        "declaration.validated",
                        "declaration.rejected",
                        "declaration.released",
                    ],
                    "description": "ERP",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = _input(EndpointInputSerializer, request)
        try:
            endpoint, secret = services.webhook_endpoint_create(
                company=_company(request),
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description", ""),
            )
        except DjangoValidationError as exc:
            raise _drf(exc) from None
        if data.get("enabled") is False:
            endpoint = services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
        return Response(
            EndpointWithSecretSerializer(endpoint, context={"secret": secret}).data,
            status=status.HTTP_201_CREATED,
        )


class EndpointDetail(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(summary="One webhook endpoint", responses={200: EndpointSerializer, 404: ERROR})
    def get(self, request: Request, pk: int) -> Response:
        return Response(EndpointSerializer(_endpoint_or_404(request, pk)).data)

    @extend_schema(
        summary="Change an endpoint's URL, event types, description, or pause it",
        request=EndpointInputSerializer(partial=True),
        responses={200: EndpointSerializer, 400: ERROR, 404: ERROR},
    )
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_or_404(request, pk)
        data = _input(EndpointInputSerializer, request, partial=True)
        try:
            endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data)
        except DjangoValidationError as exc:
            raise _drf(exc) from None
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Delete an endpoint and its deliveries", responses={204: None, 404: ERROR}
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.webhook_endpoint_delete(endpoint=_endpoint_or_404(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecret(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="A new signing secret (in this answer only); the old one signs beside it "
        "during the overlap",
        request=RotateInputSerializer,
        responses={200: EndpointWithSecretSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_or_404(request, pk)
        data = _input(RotateInputSerializer, request)
        secret = services.webhook_secret_rotate(
            endpoint=endpoint, overlap_seconds=data.get("overlap_seconds")
        )
        endpoint.refresh_from_db()
        return Response(EndpointWithSecretSerializer(endpoint, context={"secret": secret}).data)


class EndpointReplayDead(APIView):
    permission_classes = [IsCompanyKey]

    @no_body
    @extend_schema(
        summary="Send every dead delivery of the endpoint again",
        request=None,
        responses={
            200: inline_serializer("ReplayedDeliveries", {"replayed": serializers.IntegerField()}),
            404: ERROR,
        },
        examples=[OpenApiExample("Replayed", value={"replayed": 3}, response_only=True)],
    )
    def post(self, request: Request, pk: int) -> Response:
        count = services.webhook_dead_replay_all(endpoint=_endpoint_or_404(request, pk))
        return Response({"replayed": count})


class DeliveryList(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="The endpoint's deliveries, newest first (status=dead: the dead-letter list)",
        parameters=[OpenApiParameter("status", str, enum=DeliveryState.values)],
        responses={200: DeliverySerializer(many=True), 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_or_404(request, pk)
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in DeliveryState.values:
            raise exceptions.ValidationError(
                {"status": [exceptions.ErrorDetail("Unknown status.", code="invalid_choice")]}
            )
        paginator = self.pagination_class()
        page: Any = paginator.paginate_queryset(
            selectors.deliveries_for_endpoint(endpoint=endpoint, status=wanted),
            request,
            view=self,
        )
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryDetail(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="One delivery with every attempt (the delivery log)",
        responses={200: DeliveryDetailSerializer, 404: ERROR},
    )
    def get(self, request: Request, pk: int, delivery_pk: int) -> Response:
        return Response(DeliveryDetailSerializer(_delivery_or_404(request, pk, delivery_pk)).data)


class DeliveryReplay(APIView):
    permission_classes = [IsCompanyKey]

    @no_body
    @extend_schema(
        summary="Send a dead delivery again (same webhook-id, a fresh retry schedule)",
        request=None,
        responses={200: DeliverySerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int, delivery_pk: int) -> Response:
        delivery = _delivery_or_404(request, pk, delivery_pk)
        if not services.webhook_delivery_replay(delivery=delivery):
            raise Conflict("Only a dead delivery is replayed.", code="not_dead")
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data)
