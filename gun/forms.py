"""Forms of the GUN pages: the agents' queue filters, the control decision, the operator's
rectification."""

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gun.api.serializers import DeclarationInput
from gun.engine import RULES
from gun.fields import DOCUMENT_FIELDS, HEADER_FIELDS, ITEM_FIELDS, SHEET_FIELDS
from gun.fields import Field as DeclarationField
from gun.models import Declaration, DeclarationStatus, MandateKind
from sesame.identifiers import validate_french_eori
from sesame.models import BorderControlPost

QUEUE_STATUS_CHOICES = [
    ("open", _("Open")),
    ("justified", _("Justified")),
    ("unjustified", _("Unjustified")),
    ("released", _("Released")),
    ("all", _("All")),
]


class QueueFilterForm(forms.Form):
    """Filters of the review queue (always the agent's own post)."""

    status = forms.ChoiceField(label=_("Status"), choices=QUEUE_STATUS_CHOICES, required=False)
    q = forms.CharField(
        label=_("Search (MRN or client reference, or a part of it)"), max_length=70, required=False
    )


class DeclarationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *DeclarationStatus.choices],
        required=False,
    )
    q = forms.CharField(
        label=_("Search (MRN or client reference, or a part of it)"), max_length=70, required=False
    )


class DocumentFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search (document code or reference, or a part of it)"),
        max_length=70,
        required=False,
    )


class ControlDecisionForm(forms.Form):
    """An agent's decision on a controlled declaration (GUN_RULES §4)."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("justified", _("Justified")), ("unjustified", _("Unjustified"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the control is unjustified."),
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("decision") == "unjustified" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say why the control is unjustified."))
        return data


class MandateForm(forms.Form):
    """A company administrator grants a customs representation mandate."""

    representative_eori = forms.CharField(
        label=_("EORI of the representative"),
        max_length=17,
        validators=[validate_french_eori],
        help_text=_("The company that will declare for yours, e.g. FR552100554."),
    )
    kind = forms.ChoiceField(
        label=_("Representation"), choices=MandateKind.choices, widget=forms.RadioSelect
    )
    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for a mandate until revoked."),
    )


# --- the operator's rectification form ---------------------------------------------------------
# The page posts flat field names (item-0-commodity_code, item-0-doc-1-quantity, ...); the form
# builds the API's payload from them and validates it with the API's own serializer
# (DeclarationInput), so a page and a REST client are held to the same rules and reach the
# same service (gun.services.declaration_rectify).


@dataclass(frozen=True)
class MessagePlace:
    """Where a GUN message is shown: beside which field of the declaration (GUN_RULES §3)."""

    level: str  # "header", "item", "document" or "sheet" (the document's imputation sheet)
    field: str


# What the page calls each field a GUN message may concern (labels of gun.fields, one table).
FIELD_LABELS: Mapping[str, Any] = MappingProxyType(
    {
        **{
            field.name: field.label
            for field in (*HEADER_FIELDS, *ITEM_FIELDS, *DOCUMENT_FIELDS, *SHEET_FIELDS)
            if field.label
        },
        "has_sheet": _("Imputation sheet"),
    }
)
ITEM_PLACE = MessagePlace("item", "net_mass_kg")  # a message naming no document


def message_place(code: str, document_index: int | None) -> MessagePlace:
    """Where a message of `code` is shown: the field its rule concerns (``Rule.concerns``); a
    code the registry does not know is shown beside its document, or its item when it names no
    document."""
    rule = RULES.get(code)
    if rule is None:
        return MessagePlace("document", "reference") if document_index is not None else ITEM_PLACE
    level, _dot, name = rule.concerns.partition(".")
    return MessagePlace(level, name)


@dataclass
class Field:
    """One input of the form, with its errors and the GUN messages shown beside it."""

    name: str
    label: Any
    value: Any = ""
    kind: str = "text"
    max_length: int = 70
    errors: list[str] = dataclass_field(default_factory=list)
    messages: list[Any] = dataclass_field(default_factory=list)

    @property
    def id(self) -> str:
        return f"id_{self.name}"

    @property
    def problems(self) -> bool:
        return bool(self.errors or self.messages)


@dataclass
class DocumentRow:
    prefix: str
    new: bool
    fields: dict[str, Field]
    sheet: list[Field]

    @property
    def sheet_messages(self) -> list[Any]:
        return [m for f in self.sheet for m in f.messages]


@dataclass
class ItemRow:
    prefix: str
    item_number: int
    fields: dict[str, Field]
    documents: list[DocumentRow]


def _input_kind(spec: DeclarationField) -> str:
    """The input a sheet field gets: "integer", "decimal" or "text"."""
    if spec.kind == "int":
        return "integer"
    return "decimal" if spec.kind in ("quantity", "amount") else "text"


def _input_length(spec: DeclarationField) -> int:
    """How many characters the input takes (a decimal of 15 digits with its separators)."""
    if spec.kind == "int":
        return 5
    return 20 if spec.kind in ("quantity", "amount") else spec.max_length or 70


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


class RectificationForm:
    """The content of a validated declaration, editable field by field: header, items, each
    document (remove it, or add one per item) with its imputation sheet.

    `is_valid()` validates the payload with the API's `DeclarationInput`; `payload` is then the
    service's input. `place_messages()` puts GUN messages beside the fields they concern."""

    def __init__(
        self,
        *,
        declaration: Declaration,
        items: list[tuple[Any, list[Any]]],
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.declaration = declaration
        self.data = data
        self.is_bound = data is not None
        self.non_field_errors: list[str] = []
        self.payload: dict[str, Any] | None = None
        # Where each payload document came from (item index, row index), for the messages.
        self._positions: dict[tuple[int, int], DocumentRow] = {}
        value = self._value
        self.header = {
            "client_reference": Field(
                "client_reference",
                _("Client reference"),
                value("client_reference", declaration.client_reference),
            ),
            "importer_eori": Field(
                "importer_eori",
                _("Importer EORI"),
                value("importer_eori", declaration.importer_eori),
                max_length=17,
            ),
            "special_mentions": Field(
                "special_mentions",
                _("Special mentions"),
                value("special_mentions", " ".join(declaration.special_mentions)),
                max_length=200,
            ),
            "post": Field(
                "post",
                _("Border control post"),
                value("post", declaration.post.code if declaration.post else ""),
                kind="post",
            ),
        }
        self.posts = list(BorderControlPost.objects.order_by("code"))
        self.items: list[ItemRow] = []
        for index, (item, documents) in enumerate(items):
            prefix = f"item-{index}"
            rows = [
                self._document_row(f"{prefix}-doc-{position}", document)
                for position, document in enumerate(documents)
            ]
            rows.append(self._document_row(f"{prefix}-doc-{len(documents)}", None))
            self.items.append(
                ItemRow(
                    prefix=prefix,
                    item_number=item.item_number,
                    fields={
                        "commodity_code": Field(
                            f"{prefix}-commodity_code",
                            _("Commodity code"),
                            value(f"{prefix}-commodity_code", item.commodity_code),
                            max_length=10,
                        ),
                        "origin_country": Field(
                            f"{prefix}-origin_country",
                            _("Country of origin"),
                            value(f"{prefix}-origin_country", item.origin_country),
                            max_length=2,
                        ),
                        "net_mass_kg": Field(
                            f"{prefix}-net_mass_kg",
                            _("Net mass (kg)"),
                            value(f"{prefix}-net_mass_kg", _text(item.net_mass_kg)),
                            kind="decimal",
                            max_length=20,
                        ),
                    },
                    documents=rows,
                )
            )

    def _value(self, name: str, initial: Any) -> Any:
        if self.data is None:
            return initial
        raw = self.data.get(name, "")
        return raw if isinstance(raw, str) else ""

    def _checked(self, name: str, initial: bool) -> bool:
        if self.data is None:
            return initial
        return self.data.get(name) == "on"

    def _document_row(self, prefix: str, document: Any) -> DocumentRow:
        value = self._value
        fields = {
            "code": Field(
                f"{prefix}-code",
                _("Document code"),
                value(f"{prefix}-code", document.code if document else ""),
                max_length=4,
            ),
            "reference": Field(
                f"{prefix}-reference",
                _("Reference"),
                value(f"{prefix}-reference", document.reference if document else ""),
            ),
            "date": Field(
                f"{prefix}-date",
                _("Date"),
                value(
                    f"{prefix}-date",
                    document.date.isoformat() if document and document.date else "",
                ),
                kind="date",
                max_length=10,
            ),
            "has_sheet": Field(
                f"{prefix}-has_sheet",
                _("Imputation sheet"),
                self._checked(f"{prefix}-has_sheet", bool(document and document.has_imputation)),
                kind="checkbox",
            ),
            "remove": Field(
                f"{prefix}-remove",
                _("Remove this document"),
                self._checked(f"{prefix}-remove", False),
                kind="checkbox",
            ),
        }
        sheet = [
            Field(
                f"{prefix}-{spec.name}",
                spec.label,
                value(
                    f"{prefix}-{spec.name}",
                    _text(getattr(document, spec.column)) if document else "",
                ),
                kind=_input_kind(spec),
                max_length=_input_length(spec),
            )
            for spec in SHEET_FIELDS
        ]
        return DocumentRow(prefix=prefix, new=document is None, fields=fields, sheet=sheet)

    # --- validation ------------------------------------------------------------------------

    def _build(self) -> dict[str, Any]:
        header = self.header
        payload: dict[str, Any] = {
            "client_reference": header["client_reference"].value.strip(),
            "importer_eori": header["importer_eori"].value.strip(),
            "special_mentions": header["special_mentions"].value.replace(",", " ").split(),
            "post": header["post"].value or None,
            "items": [],
        }
        self._positions = {}
        for item_index, item in enumerate(self.items):
            documents: list[dict[str, Any]] = []
            for row in item.documents:
                fields = row.fields
                if fields["remove"].value:
                    continue
                if row.new and not (fields["code"].value or fields["reference"].value):
                    continue
                document: dict[str, Any] = {
                    "code": fields["code"].value.strip().upper(),
                    "reference": fields["reference"].value,
                    "date": fields["date"].value or None,
                }
                if fields["has_sheet"].value:
                    document["imputation"] = self._sheet(row)
                self._positions[(item_index, len(documents))] = row
                documents.append(document)
            payload["items"].append(
                {
                    "item_number": item.item_number,
                    "commodity_code": item.fields["commodity_code"].value.strip(),
                    "origin_country": item.fields["origin_country"].value.strip().upper(),
                    "net_mass_kg": item.fields["net_mass_kg"].value.strip().replace(",", "."),
                    "documents": documents,
                }
            )
        return payload

    @staticmethod
    def _sheet(row: DocumentRow) -> dict[str, Any]:
        sheet: dict[str, Any] = {}
        for spec, field in zip(SHEET_FIELDS, row.sheet, strict=True):
            # Units are compared exactly by the GUN (F034): kept as typed, like the API does.
            raw = field.value if spec.exact else field.value.strip()
            kind = _input_kind(spec)
            if kind == "decimal":
                raw = raw.replace(",", ".")
            # The API takes a JSON integer; anything else typed is left for its message.
            value: Any = int(raw) if kind == "integer" and raw.isascii() and raw.isdigit() else raw
            sheet[spec.name] = value if value != "" else None
        return sheet

    def is_valid(self) -> bool:
        if not self.is_bound:
            return False
        payload = self._build()
        serializer = DeclarationInput(data=payload)
        if serializer.is_valid():
            self.payload = dict(serializer.validated_data)
            return True
        self._place_errors(serializer.errors)
        return False

    def _field_at(self, path: tuple[Any, ...]) -> Field | None:
        """The input behind a path of the payload (("items", 0, "documents", 1, "imputation",
        "quantity"), ...)."""
        if path and path[0] in self.header:  # ("special_mentions", 1): one of the mentions
            return self.header[path[0]]
        if len(path) >= 3 and path[0] == "items" and isinstance(path[1], int):
            if path[1] >= len(self.items):
                return None
            item = self.items[path[1]]
            if len(path) == 3:
                return item.fields.get(path[2])
            if path[2] == "documents" and len(path) >= 5 and isinstance(path[3], int):
                row = self._positions.get((path[1], path[3]))
                if row is None:
                    return None
                if path[4] == "imputation" and len(path) == 6:
                    return next(
                        (
                            f
                            for s, f in zip(SHEET_FIELDS, row.sheet, strict=True)
                            if s.name == path[5]
                        ),
                        None,
                    )
                return row.fields.get(path[4])
        return None

    def _place_errors(self, errors: Any, path: tuple[Any, ...] = ()) -> None:
        if isinstance(errors, dict):
            for key, value in errors.items():
                self._place_errors(value, (*path, key))
            return
        if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
            field = self._field_at(path)
            if field is not None:
                field.errors.extend(str(e) for e in errors)
            else:
                self.non_field_errors.extend(str(e) for e in errors)
            return
        if isinstance(errors, list):
            for index, value in enumerate(errors):
                self._place_errors(value, (*path, index))

    def add_error(self, name: str, message: str) -> None:
        field = self._field_at((name,))
        (field.errors if field is not None else self.non_field_errors).append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.non_field_errors) or any(f.errors for f in self.all_fields())

    def all_fields(self) -> list[Field]:
        fields = list(self.header.values())
        for item in self.items:
            fields += item.fields.values()
            for row in item.documents:
                fields += [*row.fields.values(), *row.sheet]
        return fields

    # --- GUN messages beside their fields ----------------------------------------------------

    def place_messages(self, messages: list[Any], *, from_payload: bool) -> list[Any]:
        """Put each message beside the field it concerns; returns those with no place (shown
        above the form). `from_payload`: the messages of a run on the payload just submitted
        (their document positions are the payload's), else of the stored content."""
        unplaced = []
        for message in messages:
            field = self._message_field(message, from_payload=from_payload)
            if field is None:
                unplaced.append(message)
            else:
                field.messages.append(message)
        return unplaced

    def _message_field(self, message: Any, *, from_payload: bool) -> Field | None:
        place = message_place(message.code, message.document_index)
        if place.level == "header":
            return self.header.get(place.field)
        item_index = next(
            (i for i, item in enumerate(self.items) if item.item_number == message.item), None
        )
        if item_index is None:
            return None
        item = self.items[item_index]
        if place.level == "item":
            return item.fields.get(place.field)
        index = message.document_index
        if index is None:
            return None
        if from_payload:
            row = self._positions.get((item_index, index))
        else:  # the stored documents, in their positions (the last row is the blank one)
            row = item.documents[index] if index < len(item.documents) - 1 else None
        if row is None:
            return None
        if place.level == "sheet":
            return next(
                f for s, f in zip(SHEET_FIELDS, row.sheet, strict=True) if s.name == place.field
            )
        return row.fields.get(place.field)
