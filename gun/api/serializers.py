"""Input validation and output shapes of the GUN API (API.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycountry
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gun.engine import PROFILES, RULES
from gun.fields import (
    DOCUMENT_FIELDS,
    HEADER_FIELDS,
    ITEM_FIELDS,
    SHEET_FIELDS,
    content_of,
    declaration_body,
    summary_body,
)
from gun.models import (
    Declaration,
    DeclarationStatus,
    GunMessage,
    GunRun,
    Mandate,
    MandateKind,
    PartnerDocument,
    PartnerDocumentStatus,
)
from sesame.api.fields import EoriField
from sesame.api.pagination import ListQuery
from sesame.api.serializers import StrictSerializer
from sesame.identifiers import validate_french_eori
from sesame.models import BorderControlPost

QUANTITY: dict[str, Any] = {"max_digits": 15, "decimal_places": 3, "min_value": 0}
_DATETIME = serializers.DateTimeField()
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


class ImputationInput(StrictSerializer):
    """The imputation sheet: every field may be absent or null (F031, F045, F042); its fields
    are those of ``gun.fields.SHEET_FIELDS``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {field.name: field.sheet_input() for field in SHEET_FIELDS}


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
    documents = DocumentInput(many=True, required=False, max_length=99)  # type: ignore[call-arg]


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
    items = ItemInput(many=True, min_length=1, max_length=MAX_ITEMS)  # type: ignore[call-arg]

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
    lines = PartnerLineInput(many=True, max_length=999)  # type: ignore[call-arg]

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        numbers = [line["line"] for line in lines]
        if len(numbers) != len(set(numbers)):
            raise serializers.ValidationError(
                _("Line numbers must be unique."), code="line_duplicate"
            )
        return lines


class DeclarationFilter(ListQuery):
    status = serializers.ChoiceField(choices=DeclarationStatus.choices, required=False)
    mrn = serializers.RegexField(r"^[0-9A-Z]{1,18}\Z", max_length=18, required=False)
    control_required = serializers.BooleanField(required=False, allow_null=True, default=None)


class ControlDecisionInput(StrictSerializer):
    decision = serializers.ChoiceField(choices=["justified", "unjustified"])
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)


# --- output -----------------------------------------------------------------------------------


class GunMessageOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
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
    definition = RULES[message.code]
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


def run_body(run: GunRun, messages: Iterable[GunMessage]) -> dict[str, Any]:
    """The ``gun`` part of a declaration response: a run and its messages in order."""
    return {
        "stage": run.stage,
        "outcome": run.outcome,
        "control_required": run.control_required,
        "at": _DATETIME.to_representation(run.at),
        "messages": [message_output(m) for m in messages],
    }


def run_output(run: GunRun | None) -> dict[str, Any] | None:
    """``run_body`` of a run whose messages are prefetched (None without a run)."""
    return None if run is None else run_body(run, run.messages.all())


# The response shapes below describe the bodies of ``gun.fields`` for the OpenAPI schema; the
# bodies themselves are written by ``gun.fields.declaration_body`` / ``summary_body`` alone.


class ImputationOutput(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {field.name: field.output() for field in SHEET_FIELDS}


class DocumentOutput(serializers.Serializer):
    imputation = ImputationOutput(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        own = {field.name: field.output() for field in DOCUMENT_FIELDS}
        return {**own, **super().get_fields()}


class ItemOutput(serializers.Serializer):
    documents = DocumentOutput(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        own = {field.name: field.output() for field in ITEM_FIELDS}
        return {**own, **super().get_fields()}


class DeclarationSummaryOutput(serializers.Serializer):
    """A declaration in a list: its header and its last GUN run, without the items."""

    gun = GunRunOutput(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        own = {field.name: field.output() for field in HEADER_FIELDS}
        return {**own, **super().get_fields()}

    def to_representation(self, declaration: Declaration) -> dict[str, Any]:
        return summary_body(declaration, run_output(declaration.last_run))


class DeclarationOutput(DeclarationSummaryOutput):
    """A declaration with its items, documents and sheets, and its last GUN run."""

    items = ItemOutput(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        gun = fields.pop("gun")
        return {**fields, "gun": gun}

    def to_representation(self, declaration: Declaration) -> dict[str, Any]:
        return declaration_body(
            declaration, content_of(list(declaration.items.all())), run_output(declaration.last_run)
        )


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


class PartnerDocumentUseOutput(serializers.Serializer):
    """A declaration that reserved or imputed a line of the document, as its holder sees it:
    who declared, the MRN and status, the quantities; nothing else of the declarant."""

    line = serializers.IntegerField()
    declarant_eori = serializers.CharField()
    declarant_name = serializers.CharField()
    mrn = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    reserved = serializers.DecimalField(max_digits=15, decimal_places=3)
    imputed = serializers.DecimalField(max_digits=15, decimal_places=3)


class PartnerDocumentHolderOutput(PartnerDocumentOutput):
    """The document as its holder (or its partner) sees it: with the declarations using it."""

    declarations = PartnerDocumentUseOutput(many=True)


# --- mandates ---------------------------------------------------------------------------------


class MandateInput(StrictSerializer):
    representative_eori = serializers.CharField(max_length=17, validators=[validate_french_eori])
    kind = serializers.ChoiceField(choices=MandateKind.choices)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_until = serializers.DateField(required=False, allow_null=True)


class MandateFilter(ListQuery):
    role = serializers.ChoiceField(choices=["granted", "received"], required=False)


class MandateOutput(serializers.Serializer):
    id = serializers.UUIDField()
    grantor_eori = serializers.CharField(source="grantor.eori")
    grantor_name = serializers.CharField(source="grantor.name")
    representative_eori = serializers.CharField()
    kind = serializers.ChoiceField(choices=MandateKind.choices)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    in_force = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_in_force(self, mandate: Mandate) -> bool:
        from gun.selectors import mandate_in_force

        return mandate_in_force(mandate)


class GunRejectedOutput(DeclarationOutput):
    """422 ``gun_rejected`` (schema): the error's code and detail with the declaration, whose
    ``gun.messages`` say why."""

    code = serializers.CharField()
    detail = serializers.CharField()
