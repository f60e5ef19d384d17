"""GUN endpoints (API.md): thin views, one service or selector each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gun import selectors, services
from gun.api.serializers import (
    DeclarationFilter,
    DeclarationInput,
    DeclarationOutput,
    DeclarationSummaryOutput,
    GunRejectedOutput,
    MandateFilter,
    MandateInput,
    MandateOutput,
    PartnerDocumentHolderOutput,
    PartnerDocumentInput,
    PartnerDocumentOutput,
    PartnerDocumentUseOutput,
    run_body,
)
from gun.fields import declaration_body
from gun.models import Declaration
from gun.services import GunBusy, GunError, GunInvalid
from sesame.api.conditional import ObjectEndpoint, object_etag
from sesame.api.errors import Unprocessable
from sesame.api.middleware import no_body
from sesame.api.pagination import Pagination
from sesame.api.permissions import (
    IsCompanyKey,
    partner_key,
    request_company,
    request_key,
    request_partner,
)
from sesame.api.schema import ErrorSerializer, link, refine

T = TypeVar("T")

ERROR = OpenApiResponse(
    response=ErrorSerializer, description="Error body: `{code, detail, errors?}`."
)
DECLARATION_EXAMPLE = OpenApiExample(
    "A seed import under a SEMAE import declaration (API.md)",
    request_only=True,
    value={
        "client_reference": "ACME-0042",
        "importer_eori": "FR73282932000074",
        "special_mentions": ["73000"],
        "items": [
            {
                "item_number": 1,
                "commodity_code": "1209918000",
                "origin_country": "MA",
                "net_mass_kg": "123.000",
                "documents": [
                    {
                        "code": "2413",
                        "reference": "2016-01-0000122-00",
                        "date": "2016-01-12",
                        "imputation": {"line": 1, "quantity": "123", "unit": "KGM"},
                    }
                ],
            }
        ],
    },
)
PARTNER_DOCUMENT_EXAMPLE = OpenApiExample(
    "A SEMAE import declaration (API.md)",
    request_only=True,
    value={
        "code": "2413",
        "reference": "2016-01-0000122-00",
        "status": "VAL",
        "holder_eori": "FR73282932000074",
        "issued_on": "2016-01-12",
        "lines": [
            {
                "line": 1,
                "commodity_code": "12099180",
                "origin_country": "MA",
                "quantity": "123.000",
                "unit": "KGM",
            }
        ],
    },
)


def _call(fn: Callable[[], T]) -> T:
    """Run a service and turn its refusals into API errors with the service's code."""
    try:
        return fn()
    except GunInvalid as exc:
        raise exceptions.ValidationError(
            {exc.field: [exceptions.ErrorDetail(exc.detail, code=exc.code)]}
        ) from None
    except GunError as exc:
        error = exceptions.APIException(exc.detail, code=exc.code)
        error.status_code = exc.http_status
        error.extra = exc.extra  # type: ignore[attr-defined]
        if isinstance(exc, GunBusy):
            error.wait = 1  # type: ignore[attr-defined]  # Retry-After: a retry may succeed
        raise error from None


def _actor(request: Request) -> str:
    return str(request.user)


def _declaration_or_404(request: Request, pk: Any, *, any_company: bool = False) -> Declaration:
    company = None if any_company else request_company(request)
    if not any_company and company is None:
        raise Http404
    declaration = selectors.declaration_get(pk=pk, company=company)
    if declaration is None:
        raise Http404
    return declaration


def _declaration_response(declaration: Declaration, code: int = 200) -> Response:
    fresh = selectors.declaration_get(pk=declaration.pk)
    return Response(DeclarationOutput(fresh).data, status=code)


def _gun_response(result: services.GunResult) -> Response:
    """200 for an accepted run; 422 with the declaration and the messages for a rejected one.

    Built from what the service holds when it returns its content (validation), else read."""
    if result.content is not None and result.messages is not None:
        body = declaration_body(
            result.declaration, result.content, run_body(result.run, result.messages)
        )
    else:
        body = DeclarationOutput(selectors.declaration_get(pk=result.declaration.pk)).data
    if result.rejected:
        error = Unprocessable(_("The GUN rejected the declaration."), code="gun_rejected")
        error.extra = dict(body)  # type: ignore[attr-defined]
        raise error
    return Response(body)


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError(
            {"non_field_errors": [exceptions.ErrorDetail(_("Send a JSON object."), code="invalid")]}
        )
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- ETag, If-Match, Location (sesame.api.conditional) -----------------------------------------


class PartnerDocumentObject(ObjectEndpoint):
    """A partner document's ETag: its code, reference and version."""

    def etag_of(self, data: Any) -> str | None:
        if isinstance(data, dict) and {"code", "reference", "version"} <= set(data):
            return object_etag("partner_document", data["code"], data["reference"], data["version"])
        return None

    def current_etag(self, request: Request, **kwargs: Any) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        code, reference = str(data.get("code", "")), str(data.get("reference", ""))
        found = selectors.partner_document_version_locked(code=code, reference=reference)
        if found is None or found[0] != request_partner(request):
            return None
        return object_etag("partner_document", code, reference, found[1])

    def location_of(self, data: Any) -> str | None:
        return reverse(
            "gun-partner-doc-detail", kwargs={"code": data["code"], "reference": data["reference"]}
        )


class DeclarationObject(ObjectEndpoint):
    """A declaration's ETag: its id and version (bumped by every change of the declaration)."""

    any_company = False  # release: a DELTA key acts on any company's declaration

    def etag_of(self, data: Any) -> str | None:
        if isinstance(data, dict) and {"id", "version"} <= set(data):
            return object_etag("declaration", data["id"], data["version"])
        return None

    def current_etag(self, request: Request, **kwargs: Any) -> str | None:
        if "pk" not in kwargs:
            return None
        company = None if self.any_company else request_company(request)
        if not self.any_company and company is None:
            raise Http404
        version = selectors.declaration_version_locked(pk=kwargs["pk"], company=company)
        if version is None:
            raise Http404
        return object_etag("declaration", str(kwargs["pk"]), version)

    def location_of(self, data: Any) -> str | None:
        return reverse("gun-declaration", kwargs={"pk": data["id"]})


# --- partner documents --------------------------------------------------------------------


class PartnerDocumentPublish(PartnerDocumentObject, APIView):
    permission_classes = [partner_key("SEMAE", "TRACES", "CITES")]

    @extend_schema(
        summary="Publish or update a partner document (idempotent on code + reference)",
        request=PartnerDocumentInput,
        examples=[PARTNER_DOCUMENT_EXAMPLE],
        responses={
            201: PartnerDocumentOutput,
            200: PartnerDocumentOutput,
            400: ERROR,
            403: ERROR,
            409: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data = _input(PartnerDocumentInput, request)
        document, created = _call(
            lambda: services.partner_document_publish(partner=request_partner(request), data=data)
        )
        published = selectors.partner_document_get(code=document.code, reference=document.reference)
        return Response(
            PartnerDocumentOutput(published).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PartnerDocumentDetail(PartnerDocumentObject, APIView):
    @extend_schema(
        summary="A partner document with its balances per line and the declarations using it",
        description=(
            "For the document's partner and for the company holding it: per line, the "
            "declarations that reserved or imputed it (declarant, MRN, status, quantities)."
        ),
        responses={200: PartnerDocumentHolderOutput, 404: ERROR},
    )
    def get(self, request: Request, code: str, reference: str) -> Response:
        document = selectors.partner_document_get(code=code, reference=reference)
        key = request_key(request)
        company = request_company(request)
        visible = document is not None and (
            (key is not None and key.partner and key.partner == document.partner)
            or (company is not None and company.eori == document.holder_eori)
        )
        if document is None or not visible:
            raise Http404
        uses = selectors.partner_document_uses(document=document)
        body = {
            **PartnerDocumentOutput(document).data,
            "declarations": PartnerDocumentUseOutput(uses, many=True).data,
        }
        return Response(body)


# --- declarations -------------------------------------------------------------------------


class _Throttled(APIView):
    """Every request counts against the key's ``api`` rate (the project's throttles); writes
    (POST, PUT) also against ``write_throttle_scope``, the GUN's stricter rate for what answers
    from partner documents (docs/gun.md, "Mandates")."""

    write_throttle_scope = ""

    @property
    def throttle_scope(self) -> str | None:  # type: ignore[override]
        request = getattr(self, "request", None)
        if request is not None and request.method in ("POST", "PUT"):
            return self.write_throttle_scope or None
        return None


class DeclarationList(DeclarationObject, _Throttled):
    permission_classes = [IsCompanyKey]
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    write_throttle_scope = "gun_anticipation"

    @extend_schema(
        summary="The company's declarations, as summaries (the detail carries the items)",
        parameters=[
            OpenApiParameter(
                "status", str, enum=["anticipated", "validated", "released", "cancelled"]
            ),
            OpenApiParameter("mrn", str, pattern=r"^[0-9A-Z]{1,18}$"),
            OpenApiParameter("control_required", bool),
        ],
        responses={200: DeclarationSummaryOutput(many=True), 400: ERROR},
    )
    def get(self, request: Request) -> Response:
        filters = DeclarationFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        queryset = selectors.declarations_for_company(
            company=request_company(request),
            status=values.get("status"),
            mrn=values.get("mrn"),
            control_required=values.get("control_required"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(DeclarationSummaryOutput(page, many=True).data)

    @extend_schema(
        summary="Register an anticipated declaration (runs the anticipation checks)",
        request=DeclarationInput,
        responses={201: DeclarationOutput, 400: ERROR, 403: ERROR, 429: ERROR},
        examples=[DECLARATION_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = _input(DeclarationInput, request)
        result = _call(
            lambda: services.declaration_register(
                company=request_company(request), data=data, by=_actor(request)
            )
        )
        return _declaration_response(result.declaration, status.HTTP_201_CREATED)


class DeclarationDetail(DeclarationObject, _Throttled):
    permission_classes = [IsCompanyKey]
    write_throttle_scope = "gun_anticipation"

    @extend_schema(summary="One declaration", responses={200: DeclarationOutput, 404: ERROR})
    def get(self, request: Request, pk: Any) -> Response:
        return Response(DeclarationOutput(_declaration_or_404(request, pk)).data)

    @extend_schema(
        summary="Replace an anticipated declaration (runs the anticipation checks again)",
        request=DeclarationInput,
        responses={
            200: DeclarationOutput,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
            429: ERROR,
        },
    )
    def put(self, request: Request, pk: Any) -> Response:
        declaration = _declaration_or_404(request, pk)
        data = _input(DeclarationInput, request)
        result = _call(
            lambda: services.declaration_replace(
                declaration=declaration, data=data, by=_actor(request)
            )
        )
        return _declaration_response(result.declaration)


class DeclarationValidate(DeclarationObject, _Throttled):
    permission_classes = [IsCompanyKey]
    write_throttle_scope = "gun_validation"

    @no_body
    @extend_schema(
        summary="Validate: 200 accepted (with an MRN), 422 rejected with the messages",
        request=None,
        responses={
            200: DeclarationOutput,
            403: ERROR,
            404: ERROR,
            409: ERROR,
            422: GunRejectedOutput,
            429: ERROR,
        },
    )
    def post(self, request: Request, pk: Any) -> Response:
        company = request_company(request)
        if company is None:
            raise Http404
        declaration, content = selectors.declaration_with_content(pk=pk, company=company)
        if declaration is None:
            raise Http404
        return _gun_response(
            _call(
                lambda: services.declaration_validate(
                    declaration=declaration, content=content, by=_actor(request)
                )
            )
        )


class DeclarationRectify(DeclarationObject, _Throttled):
    permission_classes = [IsCompanyKey]
    write_throttle_scope = "gun_validation"

    @extend_schema(
        summary="Rectify a validated declaration before release (73000 has no effect)",
        request=DeclarationInput,
        responses={
            200: DeclarationOutput,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
            422: GunRejectedOutput,
        },
    )
    def post(self, request: Request, pk: Any) -> Response:
        declaration = _declaration_or_404(request, pk)
        data = _input(DeclarationInput, request)
        return _gun_response(
            _call(
                lambda: services.declaration_rectify(
                    declaration=declaration, data=data, by=_actor(request)
                )
            )
        )


class DeclarationCancel(DeclarationObject, APIView):
    permission_classes = [IsCompanyKey]

    @no_body
    @extend_schema(
        summary="Cancel before release (releases the reservations)",
        request=None,
        responses={200: DeclarationOutput, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: Any) -> Response:
        declaration = _declaration_or_404(request, pk)
        _call(lambda: services.declaration_cancel(declaration=declaration, by=_actor(request)))
        return _declaration_response(declaration)


class DeclarationRelease(DeclarationObject, APIView):
    permission_classes = [partner_key("DELTA")]
    any_company = True

    @no_body
    @extend_schema(
        summary="Release (BAE), by DELTA-G: reservations become imputations",
        request=None,
        responses={200: DeclarationOutput, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: Any) -> Response:
        declaration = _declaration_or_404(request, pk, any_company=True)
        _call(lambda: services.declaration_release(declaration=declaration, by=_actor(request)))
        return _declaration_response(declaration)


# --- mandates -----------------------------------------------------------------------------

MANDATE_EXAMPLE = OpenApiExample(
    "A direct representation mandate",
    value={
        "representative_eori": "FR552100554",
        "kind": "direct",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    },
    request_only=True,
)


def _mandate_or_404(request: Request, pk: Any) -> Any:
    mandate = selectors.mandate_get(pk=pk, company=request_company(request))
    if mandate is None:
        raise Http404
    return mandate


class MandateList(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    updated_since_field = None  # a revocation leaves no update time
    permission_classes = [IsCompanyKey]

    @extend_schema(
        summary="Mandates the company granted or received",
        parameters=[OpenApiParameter("role", str, enum=["granted", "received"])],
        responses={200: MandateOutput(many=True), 400: ERROR},
    )
    def get(self, request: Request) -> Response:
        filters = MandateFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.mandates_for_company(
            company=request_company(request), role=filters.validated_data.get("role")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(MandateOutput(page, many=True).data)

    @extend_schema(
        summary="Grant a customs representation mandate (the key's company is the importer)",
        request=MandateInput,
        examples=[MANDATE_EXAMPLE],
        responses={201: MandateOutput, 400: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = _input(MandateInput, request)
        mandate = _call(
            lambda: services.mandate_grant(
                grantor=request_company(request), data=data, by=_actor(request)
            )
        )
        return Response(MandateOutput(mandate).data, status=status.HTTP_201_CREATED)


class MandateDetail(APIView):
    permission_classes = [IsCompanyKey]

    @extend_schema(summary="One mandate", responses={200: MandateOutput, 404: ERROR})
    def get(self, request: Request, pk: Any) -> Response:
        return Response(MandateOutput(_mandate_or_404(request, pk)).data)


class MandateRevoke(APIView):
    permission_classes = [IsCompanyKey]

    @no_body
    @extend_schema(
        summary="Revoke a mandate (its grantor only); effective at once",
        request=None,
        responses={200: MandateOutput, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: Any) -> Response:
        mandate = _mandate_or_404(request, pk)
        mandate = _call(
            lambda: services.mandate_revoke(
                mandate=mandate, company=request_company(request), by=_actor(request)
            )
        )
        return Response(MandateOutput(mandate).data)


# What a declaration's responses lead to (OpenAPI links: create -> read -> validate -> release).
_BY_ID = {"id": "$response.body#/id"}
link("declarations_create", "201", "ReadDeclaration", "declarations_retrieve", **_BY_ID)
link("declarations_create", "201", "ReplaceDeclaration", "declarations_update", **_BY_ID)
link("declarations_create", "201", "ValidateDeclaration", "declarations_validate_create", **_BY_ID)
link(
    "declarations_retrieve", "200", "ValidateDeclaration", "declarations_validate_create", **_BY_ID
)
link("declarations_update", "200", "ValidateDeclaration", "declarations_validate_create", **_BY_ID)
link("declarations_validate_create", "200", "ReadDeclaration", "declarations_retrieve", **_BY_ID)
link(
    "declarations_validate_create",
    "200",
    "ReleaseDeclaration",
    "declarations_release_create",
    **_BY_ID,
)
link(
    "declarations_validate_create",
    "200",
    "RectifyDeclaration",
    "declarations_rectify_create",
    **_BY_ID,
)
link(
    "declarations_validate_create",
    "200",
    "CancelDeclaration",
    "declarations_cancel_create",
    **_BY_ID,
)
link("declarations_release_create", "200", "ReadDeclaration", "declarations_retrieve", **_BY_ID)
_DOCUMENT = {"code": "$response.body#/code", "reference": "$response.body#/reference"}
link(
    "partner_documents_create",
    "201",
    "ReadPartnerDocument",
    "partner_documents_retrieve",
    **_DOCUMENT,
)


def _reference_per_code(schema: dict[str, Any]) -> None:
    """A partner document's reference follows its code's pattern (GUN profiles)."""
    from gun.engine import PROFILES

    schema["oneOf"] = [
        {
            "properties": {
                "code": {"enum": [code]},
                "reference": {
                    "pattern": "^" + profile.reference_pattern.pattern.replace("\\Z", "") + "$"
                },
            }
        }
        for code, profile in sorted(PROFILES.items())
    ]


def _at_least_one_item(schema: dict[str, Any]) -> None:
    schema["properties"]["items"]["minItems"] = 1


refine("PartnerDocumentInputRequest", _reference_per_code)
refine("DeclarationInputRequest", _at_least_one_item)
