"""Writes about people, companies and API keys. Each one is a single transaction."""

from typing import cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from sesame.identifiers import compact
from sesame.models import APIKey, Company, Membership, Partner, Role, User


@transaction.atomic
def company_create(*, eori: str, name: str, vat_number: str = "") -> tuple[Company, bool]:
    """Create a company, or return the existing one with that EORI (idempotent).

    The EORI is validated (FR + SIREN/SIRET with its check digit); an existing company keeps its
    data unless a new name is given, which replaces the old one.
    """
    eori = compact(eori)
    existing = Company.objects.select_for_update().filter(eori=eori).first()
    if existing is not None:
        if name and existing.name != name:
            existing.name = name
            existing.full_clean()
            existing.save(update_fields=["name"])
        return existing, False
    company = Company(eori=eori, name=name, vat_number=compact(vat_number))
    company.full_clean()
    company.save()
    return company, True


@transaction.atomic
def api_key_create(
    *,
    company: Company | None = None,
    partner: str = "",
    name: str = "",
    scopes: list[str] | None = None,
) -> tuple[APIKey, str]:
    """Create an API key for a company or a partner system; the clear key is returned once.

    ``scopes`` (``sesame.api.scopes``): full (read and write on everything) when not given; an
    empty list or an unknown scope is refused."""
    from sesame.api.scopes import FULL, invalid

    scopes = list(FULL) if scopes is None else list(dict.fromkeys(scopes))
    if not scopes:
        raise ValidationError({"scopes": _("Choose at least one scope.")})
    unknown = invalid(scopes)
    if unknown:
        raise ValidationError(
            {"scopes": _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}}
        )
    if (company is None) == (not partner):
        raise ValidationError(_("An API key belongs to a company or to a partner, not both."))
    if partner and partner not in Partner.values:
        raise ValidationError(
            _("Unknown partner %(partner)s; one of %(choices)s.")
            % {"partner": partner, "choices": ", ".join(Partner.values)}
        )
    label = name or (company.eori if company else partner)
    key, clear = APIKey.objects.create_key(
        name=label[:50], company=company, partner=partner, scopes=scopes
    )
    # create_key is typed on the abstract base; it builds self.model, an APIKey here.
    return cast(APIKey, key), clear


@transaction.atomic
def api_key_revoke(*, key: APIKey) -> None:
    """Revoke the key; every process refuses it from its next request on (the per-process
    copies of keys are dropped now and again after commit, see sesame.api.authentication)."""
    from sesame.api.authentication import keys_forget

    APIKey.objects.filter(pk=key.pk).update(revoked=True)
    # Now, for the caller's own transaction; after commit, for copies another process filled
    # from the row as it was before the commit.
    keys_forget()
    transaction.on_commit(keys_forget)


def _require_admin(*, company: Company, by: User) -> None:
    if not Membership.objects.filter(company=company, user=by, role=Role.ADMIN).exists():
        raise PermissionDenied(_("Only a company administrator may manage members."))


@transaction.atomic
def membership_invite(*, company: Company, email: str, role: str, by: User) -> Membership:
    """Add a person to a company; a new person gets an email with a link to set a password."""
    _require_admin(company=company, by=by)
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    email = User.objects.normalize_email(email).lower()
    user, created = User.objects.get_or_create(email=email)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if Membership.objects.filter(company=company, user=user).exists():
        raise ValidationError({"email": _("This person is already a member of the company.")})
    membership = Membership.objects.create(company=company, user=user, role=role)
    transaction.on_commit(lambda: _send_invitation(user=user, company=company, by=by))
    return membership


def _send_invitation(*, user: User, company: Company, by: User) -> None:
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    context = {"company": company, "by": by, "link": settings.SITE_URL + path}
    with translation.override(user.language):
        subject = _("You are invited to Sesame by %(company)s") % {"company": company.name}
        body = render_to_string("sesame/email/invitation.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def membership_remove(*, membership: Membership, by: User) -> None:
    """Remove a member; a company always keeps at least one administrator."""
    _require_admin(company=membership.company, by=by)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.ADMIN:
        admins = Membership.objects.select_for_update().filter(
            company=locked.company, role=Role.ADMIN
        )
        if len(admins) <= 1:
            raise ValidationError(_("A company must keep at least one administrator."))
    locked.delete()
