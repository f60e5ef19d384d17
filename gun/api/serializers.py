"""Input validation and output shapes of the GUN API (API.md)."""

from __future__ import annotations

from typing import Any

import pycountry
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gun.engine import MESSAGES, PROFILES
from gun.models import (
    Declaration,
    DeclarationStatus,
    GunMessage,
    GunRun,
    PartnerDocument,
    PartnerDocumentStatus,
)
from sesame.api.fields import EoriField
from sesame.api.serializers import StrictSerializer
from sesame.models import BorderControlPost

QUANTITY = {"max_digits": 15, "decimal_places": 3, "min_value": 0}
MAX_ITEMS = 999


def validate_country(value: str) -> None:
    if not (len(value) == 2 and value.isupper() and pycountry.countries.get(alpha_2=value)):
        raise serializers.ValidationError(
            _("Give an ISO 3166 alpha-2 country code in capitals."), code="country_unknown"
        )


@extend_schema_field(
    {
        "type": "string",
        "enum": sorted(country.alpha_2 for country in pycountry.countries),
        "description": "ISO 3166-1 alpha-2 country code (DELTA IE 16 08).",
    }
)
class CountryField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=2, validators=[validate_country], **kwargs)


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_null=True, allow_blank=True, **kwargs
    )


def _decimal(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(required=False, allow_null=True, **{**QUANTITY, **kwargs})


class ImputationInput(StrictSerializer):
    """The imputation sheet: every field may be absent or null (F031, F045, F042)."""

    line = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=99999)
    product_reference = _text(70)
    trade_name = _text(200)
    quantity = _decimal()
    # Compared exactly by the GUN (F034): no trimming here.
    unit = _text(10, trim_whitespace=False)
    provisional_weight = _decimal()
    weight_unit = _text(10, trim_whitespace=False)
    amount = _decimal(decimal_places=2)
    currency = _text(3)
    net_mass_kg = _decimal()


class DocumentInput(StrictSerializer):
    code = serializers.RegexField(r"^[A-Z0-9]{4}\Z", max_length=4)
    # Kept exactly as given: a blank at either end is the GUN's F001, not a silent fix.
    reference = serializers.CharField(max_length=70, trim_whitespace=False)
    date = serializers.DateField(required=False, allow_null=True)
    imputation = ImputationInput(required=False, allow_null=True)


class ItemInput(StrictSerializer):
    item_number = serializers.IntegerField(min_value=1, max_value=MAX_ITEMS)
    commodity_code = serializers.RegexField(
        r"^(\d{8}|\d{10})\Z",
        max_length=10,
        error_messages={"invalid": _("A CN code has 8 digits, a TARIC code 10.")},
    )
    origin_country = CountryField()
    net_mass_kg = serializers.DecimalField(**QUANTITY)
    documents = DocumentInput(many=True, required=False, max_length=99)


class DeclarationInput(StrictSerializer):
    client_reference = serializers.CharField(max_length=70)
    importer_eori = EoriField()
    special_mentions = serializers.ListField(
        child=serializers.RegexField(r"^[A-Z0-9]{1,10}\Z", max_length=10),
        required=False,
        max_length=20,
    )
    post = serializers.SlugRelatedField(
        slug_field="code",
        queryset=BorderControlPost.objects.all(),
        required=False,
        allow_null=True,
    )
    items = ItemInput(many=True, min_length=1, max_length=MAX_ITEMS)

    def validate_items(self, items: list[dict]) -> list[dict]:
        numbers = [item["item_number"] for item in items]
        if len(numbers) != len(set(numbers)):
            raise serializers.ValidationError(
                _("Item numbers must be unique."), code="item_number_duplicate"
            )
        return items


class PartnerLineInput(StrictSerializer):
    line = serializers.IntegerField(min_value=1, max_value=9999)
    commodity_code = serializers.RegexField(r"^\d{2,10}\Z", max_length=10)
    origin_country = CountryField()
    quantity = serializers.DecimalField(**QUANTITY)
    unit = serializers.CharField(max_length=10, allow_blank=True, trim_whitespace=False)


class PartnerDocumentInput(StrictSerializer):
    code = serializers.ChoiceField(choices=sorted(PROFILES))
    reference = serializers.CharField(max_length=35, trim_whitespace=False)
    status = serializers.ChoiceField(choices=PartnerDocumentStatus.choices)
    holder_eori = EoriField()
    issued_on = serializers.DateField(required=False, allow_null=True)
    lines = PartnerLineInput(many=True, max_length=999)

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        numbers = [line["line"] for line in lines]
        if len(numbers) != len(set(numbers)):
            raise serializers.ValidationError(
                _("Line numbers must be unique."), code="line_duplicate"
            )
        return lines


class DeclarationFilter(StrictSerializer):
    status = serializers.ChoiceField(choices=DeclarationStatus.choices, required=False)
    mrn = serializers.RegexField(r"^[0-9A-Z]{1,18}\Z", max_length=18, required=False)
    control_required = serializers.BooleanField(required=False, allow_null=True, default=None)
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)


class ControlDecisionInput(StrictSerializer):
    decision = serializers.ChoiceField(choices=["justified", "unjustified"])
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)


# --- output -----------------------------------------------------------------------------------


class GunMessageOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    label_en = serializers.CharField()
    advice = serializers.CharField()
    advice_en = serializers.CharField()
    item = serializers.IntegerField()
    document_code = serializers.CharField(allow_null=True)
    reference = serializers.CharField(allow_null=True)
    forceable = serializers.BooleanField()
    passive = serializers.BooleanField()


class GunRunOutput(serializers.Serializer):
    stage = serializers.CharField()
    outcome = serializers.CharField()
    control_required = serializers.BooleanField()
    at = serializers.DateTimeField()
    messages = GunMessageOutput(many=True)


def message_output(message: GunMessage) -> dict[str, Any]:
    definition = MESSAGES[message.code]
    return {
        "code": message.code,
        "label": definition.label_fr,
        "label_en": definition.label_en,
        "advice": definition.advice_fr,
        "advice_en": definition.advice_en,
        "item": message.item,
        "document_code": message.document_code,
        "reference": message.reference,
        "forceable": message.forceable,
        "passive": message.passive,
    }


def run_output(run: GunRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "stage": run.stage,
        "outcome": run.outcome,
        "control_required": run.control_required,
        "at": serializers.DateTimeField().to_representation(run.at),
        "messages": [message_output(m) for m in run.messages.all()],
    }


class ImputationOutput(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, source="imputation_line_number")
    product_reference = serializers.CharField(
        allow_null=True, source="imputation_product_reference"
    )
    trade_name = serializers.CharField(allow_null=True, source="imputation_trade_name")
    quantity = serializers.DecimalField(
        allow_null=True, max_digits=15, decimal_places=3, source="imputation_quantity"
    )
    unit = serializers.CharField(allow_null=True, source="imputation_unit")
    provisional_weight = serializers.DecimalField(
        allow_null=True, max_digits=15, decimal_places=3, source="imputation_provisional_weight"
    )
    weight_unit = serializers.CharField(allow_null=True, source="imputation_weight_unit")
    amount = serializers.DecimalField(
        allow_null=True, max_digits=15, decimal_places=2, source="imputation_amount"
    )
    currency = serializers.CharField(allow_null=True, source="imputation_currency")
    net_mass_kg = serializers.DecimalField(
        allow_null=True, max_digits=15, decimal_places=3, source="imputation_net_mass_kg"
    )


class DocumentOutput(serializers.Serializer):
    code = serializers.CharField()
    reference = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    imputation = serializers.SerializerMethodField()

    @extend_schema_field(ImputationOutput(allow_null=True))
    def get_imputation(self, document: Any) -> dict | None:
        return ImputationOutput(document).data if document.has_imputation else None


class ItemOutput(serializers.Serializer):
    item_number = serializers.IntegerField()
    commodity_code = serializers.CharField()
    origin_country = serializers.CharField()
    net_mass_kg = serializers.DecimalField(max_digits=15, decimal_places=3)
    documents = DocumentOutput(many=True)


class DeclarationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    mrn = serializers.CharField(allow_null=True)
    control_required = serializers.BooleanField()
    control_status = serializers.CharField()
    release_blocked = serializers.BooleanField()
    client_reference = serializers.CharField()
    importer_eori = serializers.CharField()
    special_mentions = serializers.ListField(child=serializers.CharField())
    post = serializers.CharField(source="post.code", read_only=True, allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    validated_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    items = ItemOutput(many=True)
    gun = serializers.SerializerMethodField()

    @extend_schema_field(GunRunOutput(allow_null=True))
    def get_gun(self, declaration: Declaration) -> dict | None:
        return run_output(declaration.last_run)


# --- the declaration body as plain functions (the validation's hot path) ---------------------
# Same shape and formats as DeclarationOutput (tests compare them), without building a
# serializer tree per request.

_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_QUANTITY = serializers.DecimalField(max_digits=15, decimal_places=3)
_AMOUNT = serializers.DecimalField(max_digits=15, decimal_places=2)
_IMPUTATION = (
    ("line", "imputation_line_number", int),
    ("product_reference", "imputation_product_reference", str),
    ("trade_name", "imputation_trade_name", str),
    ("quantity", "imputation_quantity", _QUANTITY.to_representation),
    ("unit", "imputation_unit", str),
    ("provisional_weight", "imputation_provisional_weight", _QUANTITY.to_representation),
    ("weight_unit", "imputation_weight_unit", str),
    ("amount", "imputation_amount", _AMOUNT.to_representation),
    ("currency", "imputation_currency", str),
    ("net_mass_kg", "imputation_net_mass_kg", _QUANTITY.to_representation),
)


def _datetime(value: Any) -> str | None:
    return _DATETIME.to_representation(value) if value else None


def _document_body(document: dict[str, Any]) -> dict[str, Any]:
    imputation = None
    if document["has_imputation"]:
        imputation = {
            key: None if document[name] is None else convert(document[name])
            for key, name, convert in _IMPUTATION
        }
    return {
        "code": str(document["code"]),
        "reference": str(document["reference"]),
        "date": None if document["date"] is None else _DATE.to_representation(document["date"]),
        "imputation": imputation,
    }


def run_body(run: GunRun, messages: list[GunMessage]) -> dict[str, Any]:
    """``run_output`` from the run and its messages already in memory."""
    return {
        "stage": run.stage,
        "outcome": run.outcome,
        "control_required": run.control_required,
        "at": _DATETIME.to_representation(run.at),
        "messages": [message_output(m) for m in messages],
    }


def declaration_body(
    declaration: Declaration,
    content: list[dict[str, Any]],
    run: GunRun | None,
    messages: list[GunMessage],
) -> dict[str, Any]:
    """``DeclarationOutput(declaration).data`` from what a service already holds: the row (with
    ``post`` selected), ``content`` as ``selectors.declaration_content`` and the last run with
    its messages. No query."""
    post = declaration.post
    return {
        "id": str(declaration.pk),
        "status": str(declaration.status),
        "mrn": None if declaration.mrn is None else str(declaration.mrn),
        "control_required": bool(declaration.control_required),
        "control_status": str(declaration.control_status),
        "release_blocked": bool(declaration.release_blocked),
        "client_reference": str(declaration.client_reference),
        "importer_eori": str(declaration.importer_eori),
        "special_mentions": [str(m) for m in declaration.special_mentions],
        "post": None if post is None else str(post.code),
        "version": int(declaration.version),
        "created_at": _datetime(declaration.created_at),
        "updated_at": _datetime(declaration.updated_at),
        "validated_at": _datetime(declaration.validated_at),
        "released_at": _datetime(declaration.released_at),
        "cancelled_at": _datetime(declaration.cancelled_at),
        "items": [
            {
                "item_number": int(item["item_number"]),
                "commodity_code": str(item["commodity_code"]),
                "origin_country": str(item["origin_country"]),
                "net_mass_kg": _QUANTITY.to_representation(item["net_mass_kg"]),
                "documents": [_document_body(d) for d in item["documents"]],
            }
            for item in content
        ],
        "gun": None if run is None else run_body(run, messages),
    }


class PartnerLineOutput(serializers.Serializer):
    line = serializers.IntegerField()
    commodity_code = serializers.CharField()
    origin_country = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=15, decimal_places=3)
    initial = serializers.DecimalField(max_digits=15, decimal_places=3, source="quantity")
    reserved = serializers.DecimalField(max_digits=15, decimal_places=3)
    imputed = serializers.DecimalField(max_digits=15, decimal_places=3)
    available = serializers.DecimalField(max_digits=15, decimal_places=3)


class PartnerDocumentOutput(serializers.Serializer):
    partner = serializers.CharField()
    code = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.CharField()
    holder_eori = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)
    single_use = serializers.BooleanField()
    used = serializers.SerializerMethodField()
    version = serializers.IntegerField()
    lines = PartnerLineOutput(many=True)

    def get_used(self, document: PartnerDocument) -> bool:
        return document.used_by_id is not None


class GunRejectedOutput(DeclarationOutput):
    """422 ``gun_rejected`` (schema): the error's code and detail with the declaration, whose
    ``gun.messages`` say why."""

    code = serializers.CharField()
    detail = serializers.CharField()
