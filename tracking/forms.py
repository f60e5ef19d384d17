from django import forms
from django.utils.translation import gettext_lazy as _

from sesame.models import Port
from tracking.models import Status


class ConsignmentFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search (reference, container, MRN, CHED)"), max_length=40, required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *Status.choices], required=False
    )
    port = forms.ChoiceField(
        label=_("Port"), choices=[("", _("All")), *Port.choices], required=False
    )
    arrival_from = forms.DateField(
        label=_("Arrival from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    arrival_to = forms.DateField(
        label=_("Arrival to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "status": data.get("status") or "",
            "port": data.get("port") or "",
            "arrival_from": data.get("arrival_from"),
            "arrival_to": data.get("arrival_to"),
            "search": data.get("q") or "",
        }
