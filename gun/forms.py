"""Forms of the GUN pages: the agents' queue filters and the control decision."""

from django import forms
from django.utils.translation import gettext_lazy as _

from gun.models import DeclarationStatus, MandateKind
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
    """Filters of the review queue; an empty post means every post."""

    post = forms.ModelChoiceField(
        label=_("Border control post"),
        queryset=BorderControlPost.objects.order_by("code"),
        required=False,
        empty_label=_("All posts"),
        to_field_name="code",
    )
    status = forms.ChoiceField(label=_("Status"), choices=QUEUE_STATUS_CHOICES, required=False)


class DeclarationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *DeclarationStatus.choices],
        required=False,
    )
    q = forms.CharField(label=_("MRN or client reference"), max_length=70, required=False)


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
