"""Dossier API (DOSSIER.md §2): thin views over dossier.selectors and dossier.services.

Every consignment and document is reached through `consignment_for_reader` /
`document_for_reader`: another company's object is 404, a shared company reads only."""

from typing import Any

from django.http import HttpResponseBase, StreamingHttpResponse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dossier import selectors, services
from dossier.api.serializers import (
    AccessLogSerializer,
    CompanyUploadSchema,
    DocumentSerializer,
    DocumentUploadSerializer,
    DossierSerializer,
    PartnerFileSerializer,
    ShareCreateSerializer,
    ShareSerializer,
    SigningKeySerializer,
)
from dossier.errors import DossierRefusal
from dossier.export import export_filename, export_stream
from dossier.http import file_response, upload_prepare, upload_received
from dossier.selectors import OWNER, Reader
from dossier.signing import ALGORITHM, public_key_pem
from dossier.types import CONTENTS
from dossier.uploads import EMPTY, TOO_LARGE, UNSUPPORTED, Refused
from sesame.api.pagination import Pagination
from sesame.api.permissions import HasApiKey, partner_key, request_key

PARTNERS = ("TRACES", "DGCCRF", "CITES", "SEMAE", "SIVEP", "DELTA", "PORT")
REFUSAL_STATUS = {UNSUPPORTED: 415, TOO_LARGE: 413, EMPTY: 400}


class Refusal(exceptions.APIException):
    """A dossier refusal in the API's error shape (`code`, `detail`, and `errors` for a field)."""

    def __init__(self, status_code: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail, code)
        self.status_code = status_code
        self.extra = (
            {"errors": {field: [{"message": detail, "code": code}]}} if field is not None else None
        )


def _refusal(exc: DossierRefusal | Refused) -> Refusal:
    if isinstance(exc, Refused):
        return Refusal(REFUSAL_STATUS[exc.code], exc.code, exc.detail, "file")
    return Refusal(exc.status, exc.code, exc.detail, exc.field)


def reader_for(request: Request) -> Reader:
    key = request_key(request)
    assert key is not None  # HasApiKey
    return Reader(by=key.name, company=key.company if key.company_id else None, partner=key.partner)


DOCUMENT_EXAMPLE = OpenApiExample(
    "A new document",
    value={
        "id": 41,
        "consignment": 12,
        "type": "commercial_invoice",
        "reference": "INV-2026-001",
        "version": 1,
        "current": True,
        "replaces": None,
        "origin": "company",
        "partner": "",
        "filename": "invoice.pdf",
        "content_type": "application/pdf",
        "size": 18342,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "issued_on": "2026-11-30",
        "issuer": "",
        "reason": "",
        "uploaded_at": "2026-12-01T09:30:00+01:00",
        "uploaded_by": "operator@acme.example",
        "purged_at": None,
    },
    response_only=True,
)
ERRORS = {
    400: OpenApiResponse(description="Invalid fields, an empty file, a system type, no reason"),
    403: OpenApiResponse(description="read_only (shared with you), not_your_type (partners)"),
    404: OpenApiResponse(description="No such consignment for this key"),
    413: OpenApiResponse(description="too_large: over 20 MiB"),
    415: OpenApiResponse(description="unsupported_media: not PDF, PNG, JPEG, TIFF or XML"),
}


def _receive(request: Request, serializer_class: type[serializers.Serializer]) -> tuple[Any, Any]:
    """Stream the body through the dossier's upload handler, then validate the other fields."""
    try:
        handler = upload_prepare(request._request)
        data = request.data
        received = upload_received(handler, request.FILES)
    except Refused as exc:
        raise _refusal(exc) from None
    if handler.extra_file:
        raise Refusal(400, "invalid", "Send one file per request.", "file")
    values = {key: data.get(key) for key in data if key != "file"}  # type: ignore[union-attr]
    if received is not None:
        values["file"] = received.content
    fields = serializer_class(data=values)
    fields.is_valid(raise_exception=True)
    return received, fields.validated_data


class ConsignmentDocumentsView(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    updated_since_field = "uploaded_at"  # a version never changes once written
    permission_classes = [HasApiKey]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Every document and version of a consignment's dossier, newest first",
        responses=DocumentSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        access = selectors.consignment_for_reader(reader=reader_for(request), pk=pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.documents_of_consignment(consignment=access.consignment), request, view=self
        )
        return paginator.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(
        summary="Add a document, or a new version of it (multipart/form-data)",
        request={"multipart/form-data": CompanyUploadSchema},
        responses={
            201: DocumentSerializer,
            200: OpenApiResponse(DocumentSerializer, description="The same bytes again"),
            **ERRORS,
        },
        examples=[DOCUMENT_EXAMPLE],
    )
    def post(self, request: Request, pk: int) -> Response:
        reader = reader_for(request)
        access = selectors.consignment_for_reader(reader=reader, pk=pk)
        if not access.can_write:
            raise Refusal(403, "read_only", "This dossier is shared with you read-only.")
        received, values = _receive(request, DocumentUploadSerializer)
        values.pop("file")
        try:
            document, created = services.document_upload(
                access=access, reader=reader, received=received, **values
            )
        except DossierRefusal as exc:
            raise _refusal(exc) from None
        return Response(
            DocumentSerializer(document).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PartnerFileView(APIView):
    permission_classes = [partner_key(*PARTNERS)]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="A partner system sends one of its documents (CHED PDF, F&L certificate, ...)",
        request={"multipart/form-data": PartnerFileSerializer},
        responses={
            201: DocumentSerializer,
            200: OpenApiResponse(DocumentSerializer, description="The same bytes again"),
            409: OpenApiResponse(description="ambiguous_consignment"),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        reader = reader_for(request)
        received, values = _receive(request, PartnerFileSerializer)
        try:
            consignment = selectors.consignment_for_partner_file(
                container_number=values.pop("container_number", ""),
                ched_reference=values.pop("ched_reference", ""),
                company_eori=values.pop("company_eori", ""),
                consignment_reference=values.pop("consignment_reference", ""),
            )
            values.pop("file")
            document, created = services.partner_file_add(
                consignment=consignment,
                partner=reader.partner,
                received=received,
                by=reader.by,
                **values,
            )
        except DossierRefusal as exc:
            raise _refusal(exc) from None
        return Response(
            DocumentSerializer(document).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DocumentView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(summary="One document (one version)", responses=DocumentSerializer)
    def get(self, request: Request, pk: int) -> Response:
        document, _role = selectors.document_for_reader(reader=reader_for(request), pk=pk)
        return Response(DocumentSerializer(document).data)


class DocumentDownloadView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(
        summary="The document's bytes, exactly as received",
        responses={
            # The stored content's own type (decided from its bytes at upload).
            **{(200, content_type): OpenApiTypes.BINARY for content_type in CONTENTS},
            410: OpenApiResponse(description="purged: kept past its retention, bytes deleted"),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        reader = reader_for(request)
        document, _role = selectors.document_for_reader(reader=reader, pk=pk)
        if document.purged_at is not None:
            raise Refusal(410, "purged", "This document's bytes were deleted after retention.")
        services.document_download_record(document=document, reader=reader)
        return file_response(document)


class DocumentAccessLogView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(
        summary="Who downloaded or exported the document (owner only)",
        responses=AccessLogSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        document, role = selectors.document_for_reader(reader=reader_for(request), pk=pk)
        if role != OWNER:
            raise exceptions.NotFound()
        entries = selectors.access_log_of_document(document=document)[:1000]
        return Response({"results": AccessLogSerializer({"results": entries}).data["results"]})


class DossierView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(
        summary="Completeness of the dossier",
        responses=DossierSerializer,
        examples=[
            OpenApiExample(
                "Plants, one document so far",
                value={
                    "consignment": 12,
                    "required": [
                        "commercial_invoice",
                        "transport_document",
                        "ched",
                        "phytosanitary_certificate",
                    ],
                    "present": ["commercial_invoice"],
                    "missing": ["transport_document", "ched", "phytosanitary_certificate"],
                    "complete": False,
                },
            )
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        access = selectors.consignment_for_reader(reader=reader_for(request), pk=pk)
        state = selectors.dossier_completeness(consignment=access.consignment)
        return Response(
            {
                "consignment": access.consignment.pk,
                "required": state.required,
                "present": state.present,
                "missing": state.missing,
                "complete": state.complete,
            }
        )


class DossierZipView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(
        summary="The whole dossier as one signed ZIP (streamed)",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        reader = reader_for(request)
        access = selectors.consignment_for_reader(reader=reader, pk=pk)
        return dossier_zip_response(access=access, reader=reader)


def dossier_zip_response(*, access: selectors.Access, reader: Reader) -> StreamingHttpResponse:
    """The ZIP download of a dossier, recorded in each document's access log first."""
    documents = list(selectors.documents_of_consignment(consignment=access.consignment))
    services.dossier_export_record(
        documents=[d for d in documents if d.purged_at is None], reader=reader
    )
    response = StreamingHttpResponse(
        export_stream(
            consignment=access.consignment,
            documents=documents,
            language=translation.get_language() or "fr",
        ),
        content_type="application/zip",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{export_filename(access.consignment)}"'
    )
    response["Cache-Control"] = "private, no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class SigningKeyView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(
        summary="The public key verifying dossier exports", responses=SigningKeySerializer
    )
    def get(self, request: Request) -> Response:
        return Response({"algorithm": ALGORITHM, "public_key_pem": public_key_pem()})


class SharesView(APIView):
    pagination_class = Pagination  # the list envelope in the schema comes from it too
    updated_since_field = "created_at"  # a share is written once, then deleted
    permission_classes = [HasApiKey]

    def _owner(self, request: Request, pk: int) -> selectors.Access:
        access = selectors.consignment_for_reader(reader=reader_for(request), pk=pk)
        if access.role != OWNER:
            raise exceptions.NotFound()
        return access

    @extend_schema(
        summary="Companies the consignment is shared with (owner only)",
        responses=ShareSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        access = self._owner(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.shares_of_consignment(consignment=access.consignment), request, view=self
        )
        return paginator.get_paginated_response(ShareSerializer(page, many=True).data)

    @extend_schema(
        summary="Share the consignment read-only with another company (owner only)",
        request=ShareCreateSerializer,
        responses={201: ShareSerializer, 400: OpenApiResponse(description="company_unknown")},
        examples=[
            OpenApiExample(
                "A forwarder",
                value={"eori": "FR73282932000074", "role": "forwarder"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        access = self._owner(request, pk)
        data = ShareCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            share = services.share_create(
                access=access, by=reader_for(request).by, **data.validated_data
            )
        except DossierRefusal as exc:
            raise _refusal(exc) from None
        return Response(ShareSerializer(share).data, status=status.HTTP_201_CREATED)


class ShareView(APIView):
    permission_classes = [HasApiKey]

    @extend_schema(summary="End a share at once (owner only)", responses={204: None})
    def delete(self, request: Request, pk: int, eori: str) -> Response:
        access = selectors.consignment_for_reader(reader=reader_for(request), pk=pk)
        if access.role != OWNER or not services.share_end(access=access, eori=eori):
            raise exceptions.NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)
