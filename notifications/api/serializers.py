"""Shapes of the change feed and of the webhook endpoints, deliveries and attempts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.feed.selectors import event_document
from notifications.feed.types import TYPE_CHOICES
from notifications.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class SubjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class FeedEventSerializer(serializers.Serializer):
    """An event of the feed: the very document a webhook's body carries."""

    id = serializers.CharField(help_text="evt_<n>: the webhook-id of its deliveries too.")
    type = serializers.ChoiceField(choices=TYPE_CHOICES)
    timestamp = serializers.DateTimeField()
    subject = SubjectSerializer()
    data = serializers.DictField()  # type: ignore[assignment]  # the document's key

    def to_representation(self, instance: Any) -> Any:
        return super().to_representation(event_document(instance))


class FeedPageSerializer(serializers.Serializer):
    next = serializers.CharField(
        help_text="Where to read next: after the last event given (the same position when "
        "there was none). Never null: a feed has no end."
    )
    previous = serializers.CharField(allow_null=True, help_text="Always null.")
    has_more = serializers.BooleanField(help_text="More events wait right now.")
    results = FeedEventSerializer(many=True)


class FeedQuerySerializer(serializers.Serializer):
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The id of the last event read (evt_<n>); absent or empty: the start.",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    type = serializers.ListField(
        child=serializers.ChoiceField(choices=TYPE_CHOICES), required=False
    )


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=TYPE_CHOICES))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "created_at",
            "updated_at",
            "secret_rotated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (whsec_…), shown in this answer only."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return str(self.context["secret"])


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=TYPE_CHOICES), min_length=1, max_length=100
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class RotateInputSerializer(serializers.Serializer):
    overlap_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=7 * 24 * 3600,
        help_text="How long the current secret keeps signing beside the new one (default a day).",
    )


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "status_code",
            "error",
            "response_excerpt",
        ]
        read_only_fields = fields


class DeliveryEventSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=DeliveryState.choices)
    next_attempt_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "subject",
            "status",
            "attempts",
            "retries",
            "replays",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields

    @extend_schema_field(DeliveryEventSerializer)
    def get_event(self, delivery: WebhookDelivery) -> dict[str, Any]:
        event = delivery.event
        return {"id": event.public_id, "type": event.type, "timestamp": event.created_at}

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: WebhookDelivery) -> Any:
        return delivery.not_before if delivery.status == DeliveryState.PENDING else None


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True, source="attempt_set")

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):
    code = serializers.CharField()
    subject = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
