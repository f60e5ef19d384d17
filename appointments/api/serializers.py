from typing import Any

from rest_framework import serializers

from appointments.models import (
    Appointment,
    AppointmentStatus,
    Check,
    Result,
    Service,
    WaitlistEntry,
)
from appointments.selectors import MAX_RANGE_DAYS
from sesame.api.pagination import ListQuery
from sesame.identifiers import E164, PHONE_FORMAT


class AppointmentSerializer(serializers.ModelSerializer):
    post = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[var-annotated]
    consignment = serializers.IntegerField(source="consignment_id", read_only=True)
    rebooked_as = serializers.SerializerMethodField()
    rebooked_from = serializers.IntegerField(source="rebooked_from_id", read_only=True)
    result = serializers.SerializerMethodField()
    check = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "consignment",
            "post",
            "service",
            "start",
            "end",
            "status",
            "priority",
            "containers",
            "sequence",
            "rebooked_as",
            "rebooked_from",
            "result",
            "check",
            "contact_phone",
            "note",
            "reason",
            "created_at",
            "updated_at",
        ]

    def get_rebooked_as(self, appointment: Appointment) -> int | None:
        rebooked = getattr(appointment, "rebooked_as", None)
        return rebooked.pk if rebooked is not None else None

    def get_result(self, appointment: Appointment) -> str | None:
        return appointment.result or None

    def get_check(self, appointment: Appointment) -> str | None:
        return appointment.check_kind or None


class BookSerializer(serializers.Serializer):
    consignment = serializers.IntegerField(min_value=1)
    service = serializers.ChoiceField(Service.choices)
    start = serializers.DateTimeField()
    containers = serializers.ListField(
        child=serializers.CharField(max_length=11), max_length=50, required=False
    )
    # E.164 or empty ($: a trailing newline is refused as a control character by the API).
    contact_phone = serializers.RegexField(
        rf"^({E164})?$",
        max_length=16,
        required=False,
        allow_blank=True,
        error_messages={"invalid": PHONE_FORMAT},
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class RescheduleSerializer(serializers.Serializer):
    start = serializers.DateTimeField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CompleteSerializer(serializers.Serializer):
    check = serializers.ChoiceField(Check.choices)
    result = serializers.ChoiceField(Result.choices)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class AppointmentFilterSerializer(ListQuery):
    consignment = serializers.IntegerField(min_value=1, required=False)
    service = serializers.ChoiceField(Service.choices, required=False)
    status = serializers.ChoiceField(AppointmentStatus.choices, required=False)


class AvailabilityQuerySerializer(serializers.Serializer):
    post = serializers.CharField(max_length=10)
    service = serializers.ChoiceField(Service.choices)
    to = serializers.DateField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()  # a Python keyword
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs["from"], attrs["to"]
        if last < first:
            raise serializers.ValidationError(
                {"to": [serializers.ErrorDetail("Before `from`.", code="invalid_range")]}
            )
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {
                    "to": [
                        serializers.ErrorDetail(
                            f"At most {MAX_RANGE_DAYS} days.", code="range_too_long"
                        )
                    ]
                }
            )
        return attrs


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    free = serializers.IntegerField()


class AvailabilitySerializer(serializers.Serializer):
    post = serializers.CharField()
    service = serializers.CharField()
    slots = SlotSerializer(many=True)


class WaitlistJoinSerializer(serializers.Serializer):
    consignment = serializers.IntegerField(min_value=1)
    service = serializers.ChoiceField(Service.choices)
    date = serializers.DateField()


class OfferSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class WaitlistSerializer(serializers.ModelSerializer):
    consignment = serializers.IntegerField(source="consignment_id", read_only=True)
    offer = serializers.SerializerMethodField()
    appointment = serializers.IntegerField(source="appointment_id", read_only=True)

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "consignment",
            "service",
            "date",
            "status",
            "offer",
            "appointment",
            "created_at",
        ]

    def get_offer(self, entry: WaitlistEntry) -> dict[str, Any] | None:
        if entry.status != "offered" or entry.offer_start is None:
            return None
        return OfferSerializer(
            {"start": entry.offer_start, "expires_at": entry.offer_expires_at}
        ).data
