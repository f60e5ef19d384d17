"""Appointments API (APPOINTMENTS.md §3): company keys book, authority keys (SIVEP, DGCCRF,
DELTA for customs) act. Another company's appointment is 404, a company key on an authority
action 403, another authority's appointment 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import ics, selectors, services
from appointments.api.serializers import (
    AppointmentFilterSerializer,
    AppointmentSerializer,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    BookSerializer,
    CompleteSerializer,
    ReasonSerializer,
    RescheduleSerializer,
    WaitlistJoinSerializer,
    WaitlistSerializer,
)
from appointments.errors import AppointmentError, Invalid
from appointments.models import Appointment, WaitlistEntry
from sesame.api.middleware import no_body
from sesame.api.pagination import Pagination
from sesame.api.permissions import HasApiKey, IsCompanyKey, request_company, request_partner
from sesame.models import Company
from tracking.selectors import consignments_for_company

AUTHORITIES = tuple(selectors.AUTHORITY_SERVICES)


class Refusal(exceptions.APIException):
    """A service refusal in the API's error shape, with its status and code."""

    def __init__(self, error: AppointmentError) -> None:
        self.status_code = error.status
        super().__init__(error.detail, error.code)


def _call(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except Invalid as exc:
        raise serializers.ValidationError(
            {exc.field or "non_field_errors": [serializers.ErrorDetail(exc.detail, exc.code)]}
        ) from None
    except AppointmentError as exc:
        raise Refusal(exc) from None


class IsAuthorityKey(HasApiKey):
    message = _("This action needs the partner key of the inspecting authority.")
    code = "authority_key_required"

    def has_permission(self, request: Request, view: object) -> bool:
        return request_partner(request) in AUTHORITIES


class IsCompanyOrAuthorityKey(HasApiKey):
    message = _("This endpoint needs a company key or an authority's partner key.")
    code = "company_or_authority_key_required"

    def has_permission(self, request: Request, view: object) -> bool:
        return request_company(request) is not None or request_partner(request) in AUTHORITIES


def _visible(request: Request) -> Any:
    company = request_company(request)
    if company is not None:
        return selectors.appointments_for_company(company=company)
    return selectors.appointments_for_authority(partner=request_partner(request))


def _appointment(request: Request, pk: int) -> Appointment:
    return get_object_or_404(_visible(request), pk=pk)


def _by(request: Request) -> str:
    key = request.auth
    return getattr(key, "name", "") or request_partner(request)


def _company(request: Request) -> Company:
    """The caller's company: IsCompanyKey has refused every other key."""
    company = request_company(request)
    assert company is not None
    return company


def _data(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


APPOINTMENT_EXAMPLE = OpenApiExample(
    "Booked",
    value={
        "id": 7,
        "consignment": 12,
        "post": "FRLEH4",
        "service": "SIVEP",
        "start": "2026-12-03T08:00:00+01:00",
        "end": "2026-12-03T08:30:00+01:00",
        "status": "booked",
        "priority": False,
        "containers": ["MSCU1234566"],
        "sequence": 0,
        "rebooked_as": None,
        "rebooked_from": None,
        "result": None,
        "check": None,
        "contact_phone": "+33612345678",
        "note": "",
        "reason": "",
        "created_at": "2026-11-30T10:00:00+01:00",
        "updated_at": "2026-11-30T10:00:00+01:00",
    },
    response_only=True,
)
ERRORS = {
    400: OpenApiResponse(description="Invalid fields (`code` invalid, `errors` per field)."),
    403: OpenApiResponse(description="A key that may not act here."),
    404: OpenApiResponse(description="Not visible to this key."),
    409: OpenApiResponse(description="`slot_full`, `already_booked`, `wrong_status`, …"),
    422: OpenApiResponse(description="`not_a_slot`, `too_late`, `too_far`, `ched_missing`, …"),
}


class AvailabilityView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(
        summary="Bookable slots of a post and service over at most 31 days",
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailabilitySerializer, 400: ERRORS[400]},
        examples=[
            OpenApiExample(
                "Free slots",
                value={
                    "post": "FRLEH4",
                    "service": "SIVEP",
                    "slots": [
                        {
                            "start": "2026-12-03T08:00:00+01:00",
                            "end": "2026-12-03T08:30:00+01:00",
                            "capacity": 4,
                            "free": 3,
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        calendar = selectors.calendar_by_code(post=values["post"], service=values["service"])
        if calendar is None:
            raise exceptions.ValidationError(
                {
                    "post": [
                        serializers.ErrorDetail(
                            str(_("Unknown border control post.")), "does_not_exist"
                        )
                    ]
                }
            )
        slots = selectors.availability(calendar=calendar, first=values["from"], last=values["to"])
        # Written directly (465 slots for 31 days): the serializer documents the shape.
        return Response(
            {
                "post": calendar.post.code,
                "service": calendar.service,
                "slots": [
                    {
                        "start": slot.start.isoformat(),
                        "end": slot.end.isoformat(),
                        "capacity": slot.capacity,
                        "free": slot.free,
                    }
                    for slot in slots
                ],
            }
        )


class AppointmentListView(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [IsCompanyKey()]
        return [IsCompanyOrAuthorityKey()]

    @extend_schema(
        summary="Appointments (company: its own; authority key: its service's)",
        parameters=[AppointmentFilterSerializer],
        responses=AppointmentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = AppointmentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        appointments = selectors.appointments_filter(_visible(request), **filters.filters)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(appointments, request, view=self)
        return paginator.get_paginated_response(AppointmentSerializer(page, many=True).data)

    @extend_schema(
        summary="Book a slot",
        request=BookSerializer,
        responses={201: AppointmentSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Book",
                value={
                    "consignment": 12,
                    "service": "SIVEP",
                    "start": "2026-12-03T08:00:00+01:00",
                    "containers": ["MSCU1234566"],
                    "contact_phone": "+33612345678",
                    "note": "",
                },
                request_only=True,
            ),
            APPOINTMENT_EXAMPLE,
        ],
    )
    def post(self, request: Request) -> Response:
        values = _data(BookSerializer, request)
        consignment = get_object_or_404(
            consignments_for_company(company=_company(request)), pk=values.pop("consignment")
        )
        appointment = _call(
            lambda: services.appointment_book(consignment=consignment, by=_by(request), **values)
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class AppointmentDetailView(APIView):
    permission_classes = [IsCompanyOrAuthorityKey]

    @extend_schema(
        responses={200: AppointmentSerializer, 404: ERRORS[404]}, examples=[APPOINTMENT_EXAMPLE]
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(AppointmentSerializer(_appointment(request, pk)).data)


class CompanyAction(APIView):
    permission_classes = [IsCompanyKey]


class RescheduleView(CompanyAction):
    @extend_schema(
        summary="Move to another slot (same id, sequence + 1)",
        request=RescheduleSerializer,
        responses={200: AppointmentSerializer, **ERRORS},
        examples=[
            OpenApiExample("Move", value={"start": "2026-12-04T13:30:00+01:00"}, request_only=True)
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = _appointment(request, pk)
        values = _data(RescheduleSerializer, request)
        moved = _call(
            lambda: services.appointment_reschedule(
                appointment=appointment, start=values["start"], by=_by(request)
            )
        )
        return Response(AppointmentSerializer(moved).data)


class CancelView(CompanyAction):
    @extend_schema(
        summary="Cancel before the slot starts",
        request=ReasonSerializer,
        responses={200: AppointmentSerializer, **ERRORS},
        examples=[OpenApiExample("Cancel", value={"reason": "Goods delayed"}, request_only=True)],
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = _appointment(request, pk)
        values = _data(ReasonSerializer, request)
        cancelled = _call(
            lambda: services.appointment_cancel(
                appointment=appointment, reason=values["reason"], by=_by(request)
            )
        )
        return Response(AppointmentSerializer(cancelled).data)


class CalendarView(APIView):
    permission_classes = [IsCompanyOrAuthorityKey]

    @extend_schema(
        summary="The appointment as iCalendar (METHOD REQUEST, or CANCEL once cancelled)",
        responses={(200, "text/calendar"): OpenApiTypes.STR, 404: ERRORS[404]},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        appointment = _appointment(request, pk)
        response = HttpResponse(
            ics.appointment_ics(appointment),
            content_type=f"text/calendar; method={ics.method(appointment)}; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="rendez-vous-{pk}.ics"'
        return response


class AuthorityAction(APIView):
    """An authority's action: its partner key (other keys 403); another service's 404."""

    permission_classes = [IsAuthorityKey]

    def target(self, request: Request, pk: int) -> Appointment:
        return get_object_or_404(
            selectors.appointments_for_authority(partner=request_partner(request)), pk=pk
        )

    def done(self, appointment: Appointment) -> Response:
        fresh = selectors.appointments_for_authority(partner=AUTHORITY_OF[appointment.service]).get(
            pk=appointment.pk
        )
        return Response(AppointmentSerializer(fresh).data)


AUTHORITY_OF: dict[str, str] = {
    str(service): partner for partner, service in selectors.AUTHORITY_SERVICES.items()
}
AUTHORITY_ERRORS = {
    200: AppointmentSerializer,
    403: ERRORS[403],
    404: ERRORS[404],
    409: ERRORS[409],
}


class CheckInView(AuthorityAction):
    @no_body
    @extend_schema(
        summary="The container is presented (booked → checked_in)",
        request=None,
        responses=AUTHORITY_ERRORS,
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = self.target(request, pk)
        return self.done(
            _call(lambda: services.appointment_check_in(appointment=appointment, by=_by(request)))
        )


class CompleteView(AuthorityAction):
    @extend_schema(
        summary="Record the check's result (booked or checked_in → completed)",
        request=CompleteSerializer,
        responses={**AUTHORITY_ERRORS, 400: ERRORS[400]},
        examples=[
            OpenApiExample(
                "Compliant",
                value={"check": "physical", "result": "compliant", "note": "Seal intact."},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = self.target(request, pk)
        values = _data(CompleteSerializer, request)
        return self.done(
            _call(
                lambda: services.appointment_complete(
                    appointment=appointment, by=_by(request), **values
                )
            )
        )


class NoShowView(AuthorityAction):
    @no_body
    @extend_schema(
        summary="The container was not presented (booked → no_show)",
        request=None,
        responses=AUTHORITY_ERRORS,
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = self.target(request, pk)
        return self.done(
            _call(lambda: services.appointment_no_show(appointment=appointment, by=_by(request)))
        )


class MissedView(AuthorityAction):
    @extend_schema(
        summary="The authority missed the slot: priority rebooking on the next open day",
        request=ReasonSerializer,
        responses=AUTHORITY_ERRORS,
        examples=[OpenApiExample("Missed", value={"reason": "Inspector ill"}, request_only=True)],
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = self.target(request, pk)
        values = _data(ReasonSerializer, request)
        return self.done(
            _call(
                lambda: services.appointment_miss(
                    appointment=appointment, reason=values["reason"], by=_by(request)
                )
            )
        )


def _entry(request: Request, pk: int) -> WaitlistEntry:
    company = request_company(request)
    if company is not None:
        scope = selectors.waitlist_for_company(company=company)
    else:
        scope = selectors.waitlist_for_authority(partner=request_partner(request))
    return get_object_or_404(scope, pk=pk)


class WaitlistJoinView(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="Wait for a place on a day",
        request=WaitlistJoinSerializer,
        responses={201: WaitlistSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Join",
                value={"consignment": 12, "service": "SIVEP", "date": "2026-12-03"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        values = _data(WaitlistJoinSerializer, request)
        consignment = get_object_or_404(
            consignments_for_company(company=_company(request)), pk=values["consignment"]
        )
        entry = _call(
            lambda: services.waitlist_join(
                consignment=consignment,
                service=values["service"],
                day=values["date"],
                by=_by(request),
            )
        )
        return Response(WaitlistSerializer(entry).data, status=status.HTTP_201_CREATED)


class WaitlistDetailView(APIView):
    permission_classes = [IsCompanyOrAuthorityKey]

    @extend_schema(responses={200: WaitlistSerializer, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(WaitlistSerializer(_entry(request, pk)).data)


class WaitlistAcceptView(APIView):
    permission_classes = [IsCompanyKey]

    @no_body
    @extend_schema(
        summary="Book the offered slot",
        request=None,
        responses={201: AppointmentSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = _entry(request, pk)
        appointment = _call(lambda: services.waitlist_accept(entry=entry, by=_by(request)))
        appointment = selectors.appointments_for_company(company=request_company(request)).get(
            pk=appointment.pk
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class WaitlistCancelView(APIView):
    permission_classes = [IsCompanyKey]

    @no_body
    @extend_schema(
        summary="Stop waiting", request=None, responses={200: WaitlistSerializer, **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = _entry(request, pk)
        cancelled = _call(lambda: services.waitlist_cancel(entry=entry, by=_by(request)))
        return Response(WaitlistSerializer(cancelled).data)
