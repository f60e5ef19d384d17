"""Forms of the preferences page: the kind × channel matrix, quiet hours, phone verification."""

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.kinds import CHANNELS, KINDS
from sesame.identifiers import validate_e164


class PreferencesForm(forms.Form):
    """`pref` carries "kind:channel" for each ticked box; quiet hours are optional times."""

    quiet_start = forms.TimeField(label=_("Quiet hours from"), required=False)
    quiet_end = forms.TimeField(label=_("to"), required=False)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.enabled: set[tuple[str, str]] = set()

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        values = self.data.getlist("pref") if hasattr(self.data, "getlist") else []
        if len(values) > len(KINDS) * len(CHANNELS):
            raise forms.ValidationError(_("Too many choices."), code="too_many")
        for value in values:
            kind, _sep, channel = str(value).partition(":")
            if kind not in KINDS or channel not in CHANNELS:
                raise forms.ValidationError(
                    _("Unknown notification kind or channel: %(value)s"),
                    code="unknown_choice",
                    params={"value": str(value)[:40]},
                )
            self.enabled.add((kind, channel))
        start, end = cleaned.get("quiet_start"), cleaned.get("quiet_end")  # type: ignore[union-attr]
        if (start is None) != (end is None):
            raise forms.ValidationError(
                _("Give both the start and the end of the quiet hours, or neither."),
                code="quiet_hours_half",
            )
        if start is not None and start == end:
            raise forms.ValidationError(
                _("The quiet hours must not start and end at the same time."),
                code="quiet_hours_empty",
            )
        return cleaned


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number (international form, e.g. +33612345678)"),
        max_length=16,
        validators=[validate_e164],
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code received by SMS"),
        regex=r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": _("Enter the 6 digits of the code.")},
    )
