from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sesame.api.fields import EoriField, ched_schema
from sesame.api.pagination import ListQuery
from sesame.api.serializers import StrictSerializer
from sesame.models import BorderControlPost, Port
from tracking.identifiers import (
    container_compact,
    validate_ched_reference,
    validate_container_number,
)
from tracking.kinds import CATEGORY_CHOICES, KINDS
from tracking.models import Consignment, Event, Status, TransportDocumentType
from tracking.timeline import Timeline


def _django(validator: Any) -> Any:
    def run(value: Any) -> None:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None

    return run


@extend_schema_field(
    {
        "type": "string",
        "format": "iso6346",
        "pattern": r"^ *([A-Za-z] *){3}[UJZRujzr] *([0-9] *){7}$",
        "maxLength": 20,
        "example": "CSQU3054383",
        "description": "ISO 6346 container number with its check digit (spaces and lower case "
        "are accepted and removed).",
    }
)
class ContainerField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=20, validators=[_django(validate_container_number)], **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return container_compact(super().to_internal_value(data))


@ched_schema
class ChedField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=30, validators=[_django(validate_ched_reference)], **kwargs)


class DeclarationLinkSerializer(StrictSerializer):
    declaration_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    mrn = serializers.RegexField(
        r"^[0-9A-Z]{18}\Z", max_length=18, required=False, allow_blank=True
    )
    client_reference = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        if not any(attrs.values()):
            raise serializers.ValidationError(
                "Give a declaration id, an MRN or a client reference.", code="required"
            )
        return attrs


class ConsignmentWriteSerializer(StrictSerializer):
    reference = serializers.CharField(max_length=35)
    container_numbers = serializers.ListField(child=ContainerField(), max_length=50, default=list)
    transport_document_type = serializers.ChoiceField(TransportDocumentType.choices)
    transport_document_number = serializers.CharField(max_length=35)
    port = serializers.ChoiceField(Port.choices)
    post = serializers.SlugRelatedField(
        slug_field="code",
        queryset=BorderControlPost.objects.all(),
        required=False,
        allow_null=True,
    )
    expected_arrival = serializers.DateTimeField()
    categories = serializers.ListField(
        child=serializers.ChoiceField(CATEGORY_CHOICES), max_length=10, default=list
    )
    ched_references = serializers.ListField(
        child=ChedField(),
        max_length=20,
        default=list,
    )
    # many=True hands max_length to the ListSerializer (DRF >= 3.15); the stubs lack it.
    declarations = DeclarationLinkSerializer(  # type: ignore[call-arg]
        many=True, required=False, max_length=20
    )


class DeclarationLinkReadSerializer(serializers.Serializer):
    declaration_id = serializers.CharField()
    mrn = serializers.CharField()
    client_reference = serializers.CharField()


class ConsignmentSerializer(serializers.ModelSerializer):
    post: serializers.SlugRelatedField[BorderControlPost] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    declarations = DeclarationLinkReadSerializer(
        source="declaration_links", many=True, read_only=True
    )

    class Meta:
        model = Consignment
        fields = [
            "id",
            "reference",
            "container_numbers",
            "transport_document_type",
            "transport_document_number",
            "port",
            "post",
            "expected_arrival",
            "categories",
            "ched_references",
            "declarations",
            "status",
            "created_at",
            "updated_at",
        ]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = [
            "id",
            "kind",
            "occurred_at",
            "recorded_at",
            "source",
            "source_event_id",
            "author",
            "payload",
        ]


class PartnerEventOutput(EventSerializer):
    """A recorded partner event and the consignment it was recorded on (schema)."""

    consignment = serializers.IntegerField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "consignment"]


class TimelineStepSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    state = serializers.CharField()
    waiting_on = serializers.CharField(allow_null=True)
    failed = serializers.BooleanField()
    late = serializers.BooleanField()
    action = serializers.CharField()
    event = serializers.IntegerField(allow_null=True)
    occurred_at = serializers.DateTimeField(allow_null=True)


class TimelineSerializer(serializers.Serializer):
    status = serializers.CharField()
    next_action = serializers.CharField()
    steps = TimelineStepSerializer(many=True)


class ConsignmentDetailSerializer(ConsignmentSerializer):
    """A consignment with its timeline and events: the body of its GET and of its writes."""

    timeline = TimelineSerializer(read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta(ConsignmentSerializer.Meta):
        fields = [*ConsignmentSerializer.Meta.fields, "timeline", "events"]


def timeline_data(timeline: Timeline) -> dict[str, Any]:
    return {
        "status": timeline.status,
        "next_action": str(timeline.next_action),
        "steps": [
            {
                "code": step.code,
                "label": str(step.label),
                "state": step.state,
                "waiting_on": step.waiting_on,
                "failed": step.failed,
                "late": step.late,
                "action": str(step.action),
                "event": step.event.id if step.event is not None else None,
                "occurred_at": step.event.occurred_at.isoformat() if step.event else None,
            }
            for step in timeline.steps
        ],
    }


class ConsignmentFilterSerializer(ListQuery):
    status = serializers.ChoiceField(Status.choices, required=False)
    port = serializers.ChoiceField(Port.choices, required=False)
    arrival_from = serializers.DateField(required=False)
    arrival_to = serializers.DateField(required=False)
    search = serializers.CharField(max_length=40, required=False, allow_blank=True)


class ConsignmentKeySerializer(StrictSerializer):
    """How a partner names the consignment (``selectors.consignment_named_by_partner``):
    company EORI + reference, a container (with its transport document number, or alone when
    only one active consignment holds it), or a CHED reference."""

    company_eori = EoriField(required=False)
    reference = serializers.CharField(max_length=35, required=False)
    container_number = ContainerField(required=False)
    transport_document_number = serializers.CharField(max_length=35, required=False)
    ched_reference = ChedField(required=False)

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        if bool(attrs.get("company_eori")) != bool(attrs.get("reference")):
            raise serializers.ValidationError(
                _("company_eori and reference go together."), code="required"
            )
        if attrs.get("transport_document_number") and not attrs.get("container_number"):
            raise serializers.ValidationError(
                _("transport_document_number names a consignment with its container_number."),
                code="required",
            )
        if not (
            attrs.get("reference") or attrs.get("container_number") or attrs.get("ched_reference")
        ):
            raise serializers.ValidationError(
                _(
                    "Name the consignment by company_eori + reference, container_number "
                    "(with transport_document_number) or ched_reference."
                ),
                code="required",
            )
        return attrs


class PartnerEventSerializer(StrictSerializer):
    consignment = ConsignmentKeySerializer()
    kind = serializers.ChoiceField(sorted(KINDS))
    occurred_at = serializers.DateTimeField()
    source_event_id = serializers.CharField(max_length=80)
    author = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    payload = serializers.DictField(required=False, default=dict)
