from django import forms
from django.utils.translation import gettext_lazy as _

from dossier.types import SHARE_ROLE_CHOICES, TYPES, types_for_origin


class UploadForm(forms.Form):
    """The fields beside the file (the file itself is read by the dossier's upload handler)."""

    type = forms.ChoiceField(
        label=_("Type of document"),
        choices=[(code, TYPES[code].label) for code in types_for_origin("company")],
    )
    reference = forms.CharField(label=_("Reference"), max_length=70, required=False)
    issued_on = forms.DateField(
        label=_("Issued on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    issuer = forms.CharField(label=_("Issuer"), max_length=200, required=False)
    reason = forms.CharField(label=_("Reason (for a new version)"), max_length=500, required=False)


class ShareForm(forms.Form):
    eori = forms.CharField(label=_("EORI of the company"), max_length=20)
    role = forms.ChoiceField(label=_("Its role"), choices=SHARE_ROLE_CHOICES)
