from typing import Any

from rest_framework import serializers

from dossier.models import AccessLog, Document, Share
from dossier.types import COMPANY_TYPE_CHOICES, SHARE_ROLE_CHOICES, TYPE_CHOICES
from tracking.api.serializers import ContainerField


class DocumentSerializer(serializers.ModelSerializer):
    replaces: serializers.PrimaryKeyRelatedField[Document] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = Document
        fields = [
            "id",
            "consignment",
            "type",
            "reference",
            "version",
            "current",
            "replaces",
            "origin",
            "partner",
            "filename",
            "content_type",
            "size",
            "sha256",
            "issued_on",
            "issuer",
            "reason",
            "uploaded_at",
            "uploaded_by",
            "purged_at",
        ]
        read_only_fields = fields


class DocumentUploadSerializer(serializers.Serializer):
    """The form fields of an upload; `file` is read by the dossier's upload handler."""

    file = serializers.FileField(help_text="PDF, PNG, JPEG, TIFF or XML; at most 20 MiB.")
    type = serializers.ChoiceField(TYPE_CHOICES)
    reference = serializers.CharField(max_length=70, required=False, allow_blank=True, default="")
    issued_on = serializers.DateField(required=False, allow_null=True, default=None)
    issuer = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CompanyUploadSchema(DocumentUploadSerializer):
    """The upload as the OpenAPI document states it: the types a company brings. The view reads
    it with DocumentUploadSerializer, so that a partner's or the portal's type is refused with
    its own reason (400 `partner_type`, `system_type`) rather than as an unknown choice."""

    type = serializers.ChoiceField(COMPANY_TYPE_CHOICES)


class PartnerFileSerializer(DocumentUploadSerializer):
    container_number = ContainerField(required=False)
    ched_reference = serializers.CharField(max_length=30, required=False)
    company_eori = serializers.CharField(max_length=17, required=False)
    consignment_reference = serializers.CharField(max_length=35, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = (
            (attrs.get("company_eori") and attrs.get("consignment_reference"))
            or attrs.get("container_number")
            or attrs.get("ched_reference")
        )
        if not named:
            raise serializers.ValidationError(
                "Name the consignment by container_number, ched_reference, or company_eori + "
                "consignment_reference.",
                code="required",
            )
        return attrs


class DossierSerializer(serializers.Serializer):
    consignment = serializers.IntegerField()
    required = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    present = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())
    complete = serializers.BooleanField()


class AccessLogEntrySerializer(serializers.ModelSerializer):
    company_eori = serializers.SerializerMethodField()
    partner = serializers.SerializerMethodField()

    class Meta:
        model = AccessLog
        fields = ["at", "action", "by", "company_eori", "partner"]

    def get_company_eori(self, entry: AccessLog) -> str | None:
        return entry.company_eori or None

    def get_partner(self, entry: AccessLog) -> str | None:
        return entry.partner or None


class AccessLogSerializer(serializers.Serializer):
    results = AccessLogEntrySerializer(many=True)


class ShareSerializer(serializers.ModelSerializer):
    eori = serializers.CharField(source="company.eori", read_only=True)
    name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = Share
        fields = ["eori", "name", "role", "created_at"]


class ShareCreateSerializer(serializers.Serializer):
    eori = serializers.CharField(max_length=20)
    role = serializers.ChoiceField(SHARE_ROLE_CHOICES)


class SigningKeySerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    public_key_pem = serializers.CharField()
