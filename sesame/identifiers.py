"""Identifier validation (DESIGN.md, reference data), on python-stdnum where it has a module."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from stdnum.eu import vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.fr import siren, siret

# A phone number in E.164: "+", a country code not starting with 0, 8 to 15 ASCII digits in all.
E164 = r"\+[1-9][0-9]{7,14}"
PHONE_FORMAT = _("Enter a phone number in international form, e.g. +33612345678.")
validate_e164 = RegexValidator(rf"^{E164}$", PHONE_FORMAT)


def compact(value: str) -> str:
    """Upper case, spaces and dots removed: how identifiers are stored and compared."""
    return "".join(value.split()).replace(".", "").upper()


def validate_french_eori(value: str) -> None:
    """A French EORI: `FR` + SIREN (9 digits, current form) or `FR` + SIRET (14 digits)."""
    if not isinstance(value, str) or not value.startswith("FR"):
        raise ValidationError(_("A French EORI starts with FR."), code="eori_prefix")
    number = value[2:]
    if not number.isdigit() or len(number) not in (9, 14):
        raise ValidationError(
            _("A French EORI is FR followed by a SIREN (9 digits) or a SIRET (14 digits)."),
            code="eori_format",
        )
    try:
        (siren if len(number) == 9 else siret).validate(number)
    except (InvalidChecksum, InvalidComponent):
        raise ValidationError(
            _("The SIREN/SIRET part of this EORI has a wrong check digit."), code="eori_checksum"
        ) from None
    except (InvalidFormat, InvalidLength):
        raise ValidationError(_("This EORI is not well formed."), code="eori_format") from None


def validate_vat_number(value: str) -> None:
    """An EU VAT number (French TVA included), checked by python-stdnum."""
    try:
        vat.validate(value)
    except (InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength):
        raise ValidationError(_("This VAT number is not valid."), code="vat_invalid") from None
