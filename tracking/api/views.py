"""Tracking API: partners post events; companies manage and read their consignments."""

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sesame.api.conditional import ObjectEndpoint, object_etag
from sesame.api.errors import Conflict, Unprocessable
from sesame.api.pagination import Pagination
from sesame.api.permissions import IsCompanyKey, partner_key, request_company, request_partner
from sesame.api.schema import link, refine
from sesame.models import Company
from tracking import selectors, services
from tracking.api.serializers import (
    ConsignmentDetailSerializer,
    ConsignmentFilterSerializer,
    ConsignmentSerializer,
    ConsignmentWriteSerializer,
    EventSerializer,
    PartnerEventOutput,
    PartnerEventSerializer,
    timeline_data,
)
from tracking.kinds import KINDS, kinds_for_partner, payload_errors

EVENT_PARTNERS = ("TRACES", "SIVEP", "DGCCRF", "DELTA", "PORT")
CONSIGNMENT_EXAMPLE = OpenApiExample(
    "A consignment of seeds at Le Havre",
    request_only=True,
    value={
        "reference": "ACME-0042",
        "container_numbers": ["CSQU3054383"],
        "transport_document_type": "bl",
        "transport_document_number": "MEDU1234567",
        "port": "FRLEH",
        "expected_arrival": "2026-03-02T08:00:00+01:00",
        "categories": ["plants"],
        "ched_references": ["CHEDPP.FR.2026.0000001"],
        "declarations": [{"client_reference": "ACME-DECL-1"}],
    },
)
PARTNER_EVENT_EXAMPLE = OpenApiExample(
    "Arrival reported by the port, the container named with its bill of lading",
    request_only=True,
    value={
        "consignment": {
            "container_number": "CSQU3054383",
            "transport_document_number": "MEDU1234567",
        },
        "kind": "arrival",
        "occurred_at": "2026-03-02T07:40:00+01:00",
        "source_event_id": "port-lh-000123",
        "payload": {},
    },
)
FUTURE_TOLERANCE = timedelta(days=1)


class KindNotAllowed(exceptions.PermissionDenied):
    default_code = "kind_not_allowed"


def _as_drf(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(serializers.as_serializer_error(exc))


def _company(request: Request) -> Company:
    """The caller's company: IsCompanyKey has already refused every other key."""
    company = request_company(request)
    assert company is not None
    return company


class PartnerEventView(APIView):
    """A partner system reports a formality event on a consignment, named by company EORI +
    reference, container (+ transport document) or CHED. Idempotent on source_event_id: a
    replay answers 200 with the first event, a replay with other content 409 event_conflict."""

    permission_classes = [partner_key(*EVENT_PARTNERS)]

    @extend_schema(
        request=PartnerEventSerializer,
        responses={201: PartnerEventOutput, 200: PartnerEventOutput},
        examples=[PARTNER_EVENT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = PartnerEventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        partner = request_partner(request)
        if values["kind"] not in kinds_for_partner(partner):
            raise KindNotAllowed(
                _("%(partner)s may post only: %(kinds)s.")
                % {"partner": partner, "kinds": ", ".join(kinds_for_partner(partner))}
            )
        if values["occurred_at"] > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError(
                {
                    "occurred_at": [
                        serializers.ErrorDetail(
                            _("More than one day in the future."), code="too_far_in_future"
                        )
                    ]
                }
            )
        errors = payload_errors(KINDS[values["kind"]], values["payload"])
        if errors:
            raise serializers.ValidationError(
                {
                    "payload": {
                        key: [serializers.ErrorDetail(e["message"], code=e["code"]) for e in errs]
                        for key, errs in errors.items()
                    }
                }
            )
        try:
            consignment = selectors.consignment_named_by_partner(**values["consignment"])
        except selectors.ConsignmentUnknown:
            raise Unprocessable(_("No consignment matches."), code="consignment_unknown") from None
        except selectors.ConsignmentAmbiguous:
            raise Conflict(
                _(
                    "Several consignments match: name it by company_eori + reference, by "
                    "container_number with transport_document_number, or by ched_reference."
                ),
                code="ambiguous_consignment",
            ) from None
        try:
            event, created = services.partner_event_record(
                consignment=consignment,
                kind=values["kind"],
                occurred_at=values["occurred_at"],
                source=partner,
                source_event_id=values["source_event_id"],
                author=values["author"] or partner,
                payload=values["payload"],
            )
        except services.EventConflict:
            raise Conflict(
                _("This source_event_id was delivered before with other content."),
                code="event_conflict",
            ) from None
        return Response(
            {**EventSerializer(event).data, "consignment": consignment.pk},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _consignment_body(consignment: Any) -> dict[str, Any]:
    """A consignment as every endpoint answers it: its fields, timeline and events."""
    timeline = selectors.consignment_timeline(consignment=consignment)
    return {
        **ConsignmentSerializer(consignment).data,
        "timeline": timeline_data(timeline),
        "events": EventSerializer(timeline.events, many=True).data,
    }


def _consignment_etag(pk: Any, updated_at: datetime, last_event_id: int) -> str:
    return object_etag("consignment", pk, updated_at.timestamp(), last_event_id)


class ConsignmentObject(ObjectEndpoint):
    """A consignment's ETag: its row's last change and its last event (a new event changes
    the timeline and the status)."""

    def etag_of(self, data: Any) -> str | None:
        if not (isinstance(data, dict) and {"id", "updated_at", "events"} <= set(data)):
            return None
        updated_at = parse_datetime(data["updated_at"])
        assert updated_at is not None
        last = max((event["id"] for event in data["events"]), default=0)
        return _consignment_etag(data["id"], updated_at, last)

    def current_etag(self, request: Request, **kwargs: Any) -> str | None:
        if "pk" not in kwargs:
            return None
        state = selectors.consignment_state_locked(company=_company(request), pk=kwargs["pk"])
        if state is None:
            raise Http404
        return _consignment_etag(kwargs["pk"], *state)

    def location_of(self, data: Any) -> str | None:
        return reverse("tracking-consignment", kwargs={"pk": data["id"]})


class ConsignmentListView(ConsignmentObject, APIView):
    """The company's consignments (newest arrival first), and a new one."""

    permission_classes = [IsCompanyKey]
    pagination_class = Pagination  # the list envelope in the schema comes from it too

    @extend_schema(
        parameters=[ConsignmentFilterSerializer], responses=ConsignmentSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = ConsignmentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        consignments = selectors.consignments_filter(
            selectors.consignments_for_company(company=_company(request)), **filters.filters
        ).prefetch_related("declaration_links")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(consignments, request, view=self)
        return paginator.get_paginated_response(ConsignmentSerializer(page, many=True).data)

    @extend_schema(
        request=ConsignmentWriteSerializer,
        responses={201: ConsignmentDetailSerializer},
        examples=[CONSIGNMENT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = ConsignmentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            consignment = services.consignment_create(
                company=_company(request), **data.validated_data
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None
        return Response(_consignment_body(consignment), status=status.HTTP_201_CREATED)


class ConsignmentDetailView(ConsignmentObject, APIView):
    """One consignment of the company, with its timeline and events; a change of its fields."""

    permission_classes = [IsCompanyKey]

    def _get(self, request: Request, pk: int) -> Any:
        return get_object_or_404(
            selectors.consignments_for_company(company=_company(request)), pk=pk
        )

    @extend_schema(responses=ConsignmentDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(_consignment_body(self._get(request, pk)))

    @extend_schema(request=ConsignmentWriteSerializer, responses=ConsignmentDetailSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        consignment = self._get(request, pk)
        data = ConsignmentWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            consignment = services.consignment_update(
                consignment=consignment, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None
        return Response(_consignment_body(consignment))


_BY_ID = {"id": "$response.body#/id"}
link("consignments_create", "201", "ReadConsignment", "consignments_retrieve", **_BY_ID)
link("consignments_create", "201", "ChangeConsignment", "consignments_partial_update", **_BY_ID)
link("consignments_partial_update", "200", "ReadConsignment", "consignments_retrieve", **_BY_ID)


def _named_one_way(schema: dict[str, Any]) -> None:
    """ConsignmentKeySerializer.validate: EORI and reference together, a transport document
    with its container, and one way at least."""

    def needs(field: str, other: str) -> dict[str, Any]:
        return {"anyOf": [{"not": {"required": [field]}}, {"required": [other]}]}

    schema["allOf"] = [
        {
            "anyOf": [
                {"required": ["company_eori", "reference"]},
                {"required": ["container_number"]},
                {"required": ["ched_reference"]},
            ]
        },
        needs("company_eori", "reference"),
        needs("reference", "company_eori"),
        needs("transport_document_number", "container_number"),
    ]


refine("ConsignmentKeyRequest", _named_one_way)
