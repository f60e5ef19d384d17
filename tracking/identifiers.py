"""Validation of container numbers and CHED references (DESIGN.md, reference data)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import iso6346
from stdnum.exceptions import ValidationError as StdnumError

from tracking.kinds import CHED_RE


def validate_container_number(value: str) -> None:
    """An ISO 6346 container number with its check digit, e.g. CSQU3054383."""
    if not isinstance(value, str) or not iso6346.is_valid(value) or value != iso6346.compact(value):
        raise ValidationError(
            _("%(value)s is not a valid ISO 6346 container number."),
            code="container_invalid",
            params={"value": value},
        )


def container_compact(value: str) -> str:
    try:
        return iso6346.compact(value)
    except StdnumError:
        return value


def validate_ched_reference(value: str) -> None:
    """A TRACES-NT reference: CHED{A,P,D,PP}.{country}.{year}.{7 digits}."""
    if not isinstance(value, str) or not CHED_RE.match(value):
        raise ValidationError(
            _("%(value)s is not a CHED reference (e.g. CHEDD.IT.2019.0133774)."),
            code="ched_invalid",
            params={"value": value},
        )


def validate_container_numbers(values: list[str]) -> None:
    for value in values:
        validate_container_number(value)


def validate_ched_references(values: list[str]) -> None:
    for value in values:
        validate_ched_reference(value)
