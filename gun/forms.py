"""Forms of the GUN pages: the agents' queue filters and the control decision."""

from django import forms
from django.utils.translation import gettext_lazy as _

from gun.models import DeclarationStatus

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
