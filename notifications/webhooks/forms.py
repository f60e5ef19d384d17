from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.feed.types import TYPE_CHOICES


class EndpointForm(forms.Form):
    """A webhook endpoint of the company: where, and which event types."""

    url = forms.CharField(label=_("URL"), max_length=2000)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Event types"), choices=TYPE_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["enabled"]
