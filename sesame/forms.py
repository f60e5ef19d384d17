from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from sesame.models import Membership, Role, User


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.OPERATOR)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "language"]


class NewAccountForm(forms.Form):
    """The password of an account created by accepting an invitation (the portal's rules)."""

    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first, user=User(email=self.email))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class CompanyChoiceForm(forms.Form):
    """The company a person in several companies works for now."""

    company = forms.TypedChoiceField(label=_("Company"), coerce=int, choices=[])

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [(m.company_id, m.company.name) for m in memberships]  # type: ignore[attr-defined]


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
