from django import forms
from django.utils.translation import gettext_lazy as _

from sesame.models import Role, User


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.OPERATOR)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "language"]


class ApiKeyForm(forms.Form):
    """A new API key of the company: a name and what it may do (sesame.api.scopes)."""

    name = forms.CharField(label=_("Name"), max_length=50)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        from sesame.api import scopes

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["scopes"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(scope, scopes.label(scope)) for scope in scopes.choices()]
