"""The one table of a declaration's fields: its header, its items, their box-44 documents and
the ten fields of the imputation sheet (GUN_RULES §1).

Everything that names these fields is derived from here: the API's input and output
serializers (``gun.api.serializers``), the engine's input (``gun.services.runs``), the columns
stored and read back (``gun.services.declarations``, ``gun.selectors``) and the response body
(``declaration_body``, the one serialisation of a declaration; the list's summary is its header
and its last GUN run). A field added to the sheet is one row below and one model field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

Kind = Literal["int", "text", "quantity", "amount", "date", "datetime", "bool", "uuid", "list"]

_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_QUANTITY = serializers.DecimalField(max_digits=15, decimal_places=3)
_AMOUNT = serializers.DecimalField(max_digits=15, decimal_places=2)


def _represent(kind: Kind) -> Callable[[Any], Any]:
    """How a value of ``kind`` is written in a response (as DRF writes it)."""
    if kind == "quantity":
        return _QUANTITY.to_representation
    if kind == "amount":
        return _AMOUNT.to_representation
    if kind == "date":
        return _DATE.to_representation
    if kind == "datetime":
        return _DATETIME.to_representation
    if kind == "int":
        return int
    if kind == "bool":
        return bool
    if kind == "list":
        return lambda value: [str(v) for v in value]
    return str


@dataclass(frozen=True)
class Field:
    """One field: its name in the API (``name``), its model field (``column``), its name in the
    engine's dataclasses (``engine``, None when the engine does not read it), its kind, and
    whether a response may hold null for it."""

    name: str
    column: str
    kind: Kind
    engine: str | None = None
    nullable: bool = False
    max_length: int | None = None
    # Compared exactly by the GUN (F001, F034): kept as given, no trimming.
    exact: bool = False
    label: Any = ""  # what a page calls it (a lazy translation)

    @functools.cached_property
    def _convert(self) -> Callable[[Any], Any]:
        return _represent(self.kind)

    def represent(self, value: Any) -> Any:
        """The value as a response writes it (None stays None)."""
        return None if value is None else self._convert(value)

    def output(self, **kwargs: Any) -> serializers.Field:
        """The read-only serializer field describing it in the OpenAPI schema."""
        options: dict[str, Any] = {"allow_null": self.nullable, **kwargs}
        if self.kind == "quantity":
            return serializers.DecimalField(max_digits=15, decimal_places=3, **options)
        if self.kind == "amount":
            return serializers.DecimalField(max_digits=15, decimal_places=2, **options)
        if self.kind == "int":
            return serializers.IntegerField(**options)
        if self.kind == "bool":
            return serializers.BooleanField(**kwargs)
        if self.kind == "date":
            return serializers.DateField(**options)
        if self.kind == "datetime":
            return serializers.DateTimeField(**options)
        if self.kind == "uuid":
            return serializers.UUIDField(**kwargs)
        if self.kind == "list":
            return serializers.ListField(child=serializers.CharField(), **kwargs)
        return serializers.CharField(**options)

    def sheet_input(self) -> serializers.Field:
        """The input field of an imputation-sheet value: absent or null allowed (F031, F045,
        F042 are the GUN's to raise)."""
        options: dict[str, Any] = {"required": False, "allow_null": True}
        if self.kind == "int":
            return serializers.IntegerField(min_value=0, max_value=99999, **options)
        if self.kind in ("quantity", "amount"):
            places = 3 if self.kind == "quantity" else 2
            return serializers.DecimalField(
                max_digits=15, decimal_places=places, min_value=Decimal(0), **options
            )
        return serializers.CharField(
            max_length=self.max_length,
            allow_blank=True,
            trim_whitespace=not self.exact,
            **options,
        )


# --- the imputation sheet (fiche d'imputation): ten fields --------------------------------------

SHEET_FIELDS: tuple[Field, ...] = (
    Field(
        "line",
        "imputation_line_number",
        "int",
        "line_number",
        nullable=True,
        label=_("Line number"),
    ),
    Field(
        "product_reference",
        "imputation_product_reference",
        "text",
        "product_reference",
        nullable=True,
        max_length=70,
        label=_("Product reference"),
    ),
    Field(
        "trade_name",
        "imputation_trade_name",
        "text",
        "trade_name",
        nullable=True,
        max_length=200,
        label=_("Trade name"),
    ),
    Field(
        "quantity",
        "imputation_quantity",
        "quantity",
        "quantity",
        nullable=True,
        label=_("Quantity"),
    ),
    Field(
        "unit",
        "imputation_unit",
        "text",
        "unit",
        nullable=True,
        max_length=10,
        exact=True,
        label=_("Unit"),
    ),
    Field(
        "provisional_weight",
        "imputation_provisional_weight",
        "quantity",
        "provisional_weight",
        nullable=True,
        label=_("Provisional weight"),
    ),
    Field(
        "weight_unit",
        "imputation_weight_unit",
        "text",
        "weight_unit",
        nullable=True,
        max_length=10,
        exact=True,
        label=_("Weight unit"),
    ),
    Field("amount", "imputation_amount", "amount", "amount", nullable=True, label=_("Amount")),
    Field(
        "currency",
        "imputation_currency",
        "text",
        "currency",
        nullable=True,
        max_length=3,
        label=_("Currency"),
    ),
    Field(
        "net_mass_kg",
        "imputation_net_mass_kg",
        "quantity",
        "net_mass_kg",
        nullable=True,
        label=_("Net mass (kg)"),
    ),
)

# --- box 44: a document of an item ---------------------------------------------------------------

DOCUMENT_FIELDS: tuple[Field, ...] = (
    Field("code", "code", "text", "code", label=_("Document code")),
    Field("reference", "reference", "text", "reference", exact=True, label=_("Reference")),
    Field("date", "date", "date", "date", nullable=True, label=_("Date")),
)
HAS_SHEET = "has_imputation"  # the column telling "no sheet" (F041) from an empty sheet

# --- an item (article) ---------------------------------------------------------------------------

ITEM_FIELDS: tuple[Field, ...] = (
    Field("item_number", "item_number", "int", "item_number"),
    Field("commodity_code", "commodity_code", "text", "commodity_code", label=_("Commodity code")),
    Field(
        "origin_country", "origin_country", "text", "origin_country", label=_("Country of origin")
    ),
    Field("net_mass_kg", "net_mass_kg", "quantity", "net_mass_kg", label=_("Net mass (kg)")),
)

# --- the declaration's header: what a summary shows ---------------------------------------------

HEADER_FIELDS: tuple[Field, ...] = (
    Field("id", "pk", "uuid"),
    Field("status", "status", "text"),
    Field("mrn", "mrn", "text", nullable=True),
    Field("control_required", "control_required", "bool"),
    Field("control_status", "control_status", "text"),
    Field("release_blocked", "release_blocked", "bool"),
    Field("client_reference", "client_reference", "text"),
    Field("importer_eori", "importer_eori", "text", label=_("Importer EORI")),
    Field("special_mentions", "special_mentions", "list"),
    Field("post", "post", "text", nullable=True),  # the border control post's code
    Field("version", "version", "int"),
    Field("created_at", "created_at", "datetime"),
    Field("updated_at", "updated_at", "datetime"),
    Field("validated_at", "validated_at", "datetime", nullable=True),
    Field("released_at", "released_at", "datetime", nullable=True),
    Field("cancelled_at", "cancelled_at", "datetime", nullable=True),
)

# The columns of the content read (``gun.selectors.declaration_content``), in order.
CONTENT_ITEM_COLUMNS: tuple[str, ...] = ("id", *(f.column for f in ITEM_FIELDS))
CONTENT_DOCUMENT_COLUMNS: tuple[str, ...] = (
    *(f.column for f in DOCUMENT_FIELDS),
    HAS_SHEET,
    *(f.column for f in SHEET_FIELDS),
)


# --- derived: stored columns, engine input, response ----------------------------------------------


def sheet_columns(sheet: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ItemDocument columns of a sheet given by API name (None: no sheet)."""
    values: dict[str, Any] = {HAS_SHEET: sheet is not None}
    for field in SHEET_FIELDS:
        values[field.column] = None if sheet is None else sheet.get(field.name)
    return values


def sheet_engine_values(sheet: Mapping[str, Any], *, by: Literal["name", "column"]) -> dict:
    """The engine's ``Imputation`` keyword arguments from a sheet keyed by API name or by
    column."""
    return {
        field.engine: sheet.get(field.name if by == "name" else field.column)
        for field in SHEET_FIELDS
        if field.engine is not None
    }


def _header_value(declaration: Any, field: Field) -> Any:
    if field.name == "post":
        post = declaration.post
        return None if post is None else str(post.code)
    return field.represent(getattr(declaration, field.column))


def document_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """One box-44 document of the content, as the API writes it."""
    body = {field.name: field.represent(document[field.column]) for field in DOCUMENT_FIELDS}
    body["imputation"] = (
        {field.name: field.represent(document[field.column]) for field in SHEET_FIELDS}
        if document[HAS_SHEET]
        else None
    )
    return body


def item_body(item: Mapping[str, Any]) -> dict[str, Any]:
    body = {field.name: field.represent(item[field.column]) for field in ITEM_FIELDS}
    body["documents"] = [document_body(d) for d in item["documents"]]
    return body


def summary_body(declaration: Any, gun: dict[str, Any] | None) -> dict[str, Any]:
    """The declaration's header and its last GUN run (``gun``): what a list shows."""
    body = {field.name: _header_value(declaration, field) for field in HEADER_FIELDS}
    body["gun"] = gun
    return body


def declaration_body(
    declaration: Any, content: Sequence[Mapping[str, Any]], gun: dict[str, Any] | None
) -> dict[str, Any]:
    """The declaration as every endpoint answers it: the header, the items with their
    documents and sheets (``content`` as ``gun.selectors.declaration_content``), and the last
    GUN run. No query (``declaration.post`` must be loaded)."""
    body = summary_body(declaration, gun)
    gun_body = body.pop("gun")
    body["items"] = [item_body(item) for item in content]
    body["gun"] = gun_body
    return body


def content_of(items: Sequence[Any]) -> list[dict[str, Any]]:
    """The content (as ``gun.selectors.declaration_content``) of ORM items whose documents are
    prefetched."""
    return [
        {
            **{column: getattr(item, column) for column in CONTENT_ITEM_COLUMNS},
            "documents": [
                {column: getattr(d, column) for column in CONTENT_DOCUMENT_COLUMNS}
                for d in item.documents.all()
            ],
        }
        for item in items
    ]
