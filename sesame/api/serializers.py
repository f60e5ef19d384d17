"""``StrictSerializer``: the base of every request body and query serializer of the API.

It refuses, with 400 and a code per field, what DRF's fields let through:

- a field the serializer does not know (``unknown_field``), instead of ignoring it;
- a value of another JSON type than the OpenAPI document says: a decimal is a string of ASCII
  digits (``"123.450"``; not ``"1_000"``, Arabic-Indic digits, ``" 12 "``, ``"1e3"`` nor a
  JSON number, which loses precision), an integer a JSON integer, a boolean ``true``/``false``
  (in a query: digits, ``true``/``false``); a query parameter given twice or blank;
- a date or date-time that is not RFC 3339 (a date-time needs its offset, ``T`` and ``Z`` in
  capitals: ``invalid``), or outside 2000-2100 (``date_out_of_range``: year 400 was accepted
  and written back with the local mean time offset ``+00:09:21``);
- a control character (C0, C1, DEL) in any text, or a bidirectional override (the "Trojan
  Source" characters) — except a tab or a line break in multi-line text fields, those declared
  with ``style={"base_template": "textarea.html"}`` (``control_character``).

The checks reach nested serializers, lists and dicts that are not strict themselves, so one
``StrictSerializer`` at the top covers the whole body.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

YEAR_MIN, YEAR_MAX = 2000, 2100
# A date-time StrictSerializer takes, as a pattern (the OpenAPI document, the pagination).
DATE_TIME_PATTERN = (
    r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
DECIMAL_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?\Z")
INTEGER_RE = re.compile(r"^-?[0-9]+\Z")
DATE_RE = re.compile(r"^([0-9]{4})-[0-9]{2}-[0-9]{2}\Z")
DATETIME_RE = re.compile(
    r"^([0-9]{4})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
LINE_BREAKS = frozenset("\t\n\r")
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _forbidden(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI


def _error(message: Any, code: str) -> list[serializers.ErrorDetail]:
    return [serializers.ErrorDetail(str(message), code=code)]


def _multiline(field: serializers.Field) -> bool:
    return field.style.get("base_template") == "textarea.html"


def _text_error(value: str, *, multiline: bool) -> list[serializers.ErrorDetail] | None:
    allowed = LINE_BREAKS if multiline else frozenset()
    if any(_forbidden(char) and char not in allowed for char in value):
        return _error(_("Control characters are not accepted here."), "control_character")
    return None


def _year_error(match: re.Match[str] | None, kind: Any) -> list[serializers.ErrorDetail] | None:
    if match is None:
        return _error(kind, "invalid")
    if not YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
        return _error(
            _("Give a date between %(min)d and %(max)d.") % {"min": YEAR_MIN, "max": YEAR_MAX},
            "date_out_of_range",
        )
    return None


def strict_errors(field: serializers.Field, value: Any, *, query: bool = False) -> Any:
    """What ``field`` must refuse in ``value`` beyond DRF's own checks (None: nothing);
    ``query``: the value comes from a query string (always text)."""
    if value is None:
        return None
    if query:
        return _query_errors(field, value)
    if isinstance(field, StrictSerializer):
        return None  # checks itself when DRF runs it
    if isinstance(field, serializers.ListSerializer):
        child = field.child
        return _each(child, value) if child is not None and isinstance(value, list) else None
    if isinstance(field, serializers.Serializer):
        return _members(field, value) if isinstance(value, dict) else None
    if isinstance(field, serializers.ListField):
        return _each(field.child, value) if isinstance(value, list) else None
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return None
        errors = {
            key: error
            for key, item in value.items()
            if (error := _text_error(str(key), multiline=False) or strict_errors(field.child, item))
        }
        return errors or None
    if isinstance(field, serializers.BooleanField):
        if not isinstance(value, bool):
            return _error(_("Give true or false."), "invalid")
        return None
    if isinstance(field, serializers.DecimalField):
        if not (isinstance(value, str) and DECIMAL_RE.match(value)):
            return _error(
                _('Give a decimal number as a string of the digits 0-9, e.g. "123.450".'),
                "invalid",
            )
        return None
    if isinstance(field, serializers.IntegerField):
        if isinstance(value, bool) or not isinstance(value, int):
            return _error(_("Give a whole number."), "invalid")
        return None
    if isinstance(field, serializers.DateTimeField):
        if not isinstance(value, str):
            return _error(_("Give an RFC 3339 date-time."), "invalid")
        return _year_error(
            DATETIME_RE.match(value),
            _("Give an RFC 3339 date-time with its offset, e.g. 2026-03-01T14:30:00+01:00."),
        )
    if isinstance(field, serializers.DateField):
        if not isinstance(value, str):
            return _error(_("Give a date as YYYY-MM-DD."), "invalid")
        return _year_error(DATE_RE.match(value), _("Give a date as YYYY-MM-DD."))
    if isinstance(field, serializers.RelatedField) and value == "":
        # DRF reads "" as null for a relation; the document says a code or null.
        return _error(_("This field may not be blank."), "blank")
    if isinstance(
        field, serializers.CharField | serializers.ChoiceField | serializers.RelatedField
    ) and isinstance(value, str):
        return _text_error(value, multiline=_multiline(field))
    if type(field).__name__ == "_UnvalidatedField" or isinstance(field, serializers.JSONField):
        return _free_form_errors(value)
    return None


def _free_form_errors(value: Any) -> Any:
    """Free-form JSON (a partner's payload): its keys and texts may not hold control
    characters, but texts may hold line breaks."""
    if isinstance(value, str):
        return _text_error(value, multiline=True)
    if isinstance(value, list):
        errors = {i: error for i, item in enumerate(value) if (error := _free_form_errors(item))}
        return errors or None
    if isinstance(value, dict):
        errors = {
            key: error
            for key, item in value.items()
            if (error := _text_error(str(key), multiline=False) or _free_form_errors(item))
        }
        return errors or None
    return None


def _query_errors(field: serializers.Field, value: str) -> Any:
    if isinstance(field, serializers.BooleanField):
        if value not in ("true", "false"):
            return _error(_("Give true or false."), "invalid")
        return None
    if isinstance(field, serializers.IntegerField):
        if not INTEGER_RE.match(value):
            return _error(_("Give a whole number."), "invalid")
        return None
    if value == "" and not getattr(field, "allow_blank", False):
        return _error(_("This parameter may not be blank."), "blank")
    if isinstance(field, serializers.DateField) and not isinstance(
        field, serializers.DateTimeField
    ):
        return _year_error(DATE_RE.match(value), _("Give a date as YYYY-MM-DD."))
    if isinstance(field, serializers.DateTimeField):
        return _year_error(
            DATETIME_RE.match(value),
            _("Give an RFC 3339 date-time with its offset, e.g. 2026-03-01T14:30:00+01:00."),
        )
    return _text_error(value, multiline=False)


def _each(child: serializers.Field, values: list[Any]) -> Any:
    errors = {
        index: error for index, item in enumerate(values) if (error := strict_errors(child, item))
    }
    return errors or None


def _members(serializer: serializers.Serializer, data: dict[str, Any]) -> Any:
    fields = serializer.fields
    query = isinstance(data, QueryDict)
    errors: dict[str, Any] = {
        str(name): _error(_("Unknown field."), "unknown_field")
        for name in sorted(set(data) - set(fields), key=str)
    }
    for name, field in fields.items():
        if name not in data or field.read_only:
            continue
        if query and len(data.getlist(name)) > 1:  # type: ignore[attr-defined]
            errors[name] = _error(_("Give this parameter once."), "repeated")
            continue
        error = strict_errors(field, data[name], query=query)
        if error:
            errors[name] = error
    return errors or None


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields and the loose values listed in this module's docstring."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):  # a QueryDict too (query parameters)
            errors = _members(self, data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
