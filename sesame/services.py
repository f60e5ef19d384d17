"""Writes about people, companies and API keys. Each one is a single transaction."""

import logging
import secrets
import smtplib
from datetime import timedelta
from typing import cast

import pghistory
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sesame.identifiers import compact
from sesame.models import (
    LOGIN_FAILED,
    AgentProfile,
    APIKey,
    Company,
    Invitation,
    InvitationStatus,
    Membership,
    Partner,
    Role,
    User,
)
from sesame.selectors import invitation_token_hash

logger = logging.getLogger(__name__)


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


# --- invitations ------------------------------------------------------------------------------


class InvitationRefused(Exception):
    """An invitation that cannot be accepted, with a stable `code`: unknown, expired, accepted,
    revoked, wrong_account (signed in as another address), agent, account_exists."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invitation_ttl() -> timedelta:
    return timedelta(days=getattr(settings, "INVITATION_TTL_DAYS", 7))


@transaction.atomic
def invitation_create(*, company: Company, email: str, role: str, by: User) -> Invitation:
    """Invite a person to a company: a pending invitation that expires, sent by email after
    commit with a single-use link (only the link's hash is stored). Nobody becomes a member
    until the invited person accepts it (`invitation_accept`).

    Refused: an agent's address (agents never join a company), an existing member. A pending
    invitation of the same person to the same company is cancelled and replaced."""
    _require_admin(company=company, by=by)
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    email = User.objects.normalize_email(email).strip().lower()
    if AgentProfile.objects.filter(user__email__iexact=email).exists():
        raise ValidationError(
            {"email": _("This address belongs to a control agent: agents cannot join a company.")}
        )
    if Membership.objects.filter(company=company, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member of the company.")})
    now = timezone.now()
    Invitation.objects.filter(
        company=company, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        company=company,
        email=email,
        role=role,
        token_hash=invitation_token_hash(token),
        invited_by=by,
        created_at=now,
        expires_at=now + _invitation_ttl(),
    )
    transaction.on_commit(lambda: _invitation_send(invitation, token), robust=True)
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by: User) -> Invitation:
    """Send a pending (or expired, not accepted nor cancelled) invitation again: a new link
    (the old one stops working) and a new expiry."""
    _require_admin(company=invitation.company, by=by)
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None or locked.revoked_at is not None:
        raise ValidationError(_("This invitation was already accepted or cancelled."))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    locked.token_hash = invitation_token_hash(token)
    locked.created_at = now
    locked.expires_at = now + _invitation_ttl()
    locked.sent_at = None
    locked.save(update_fields=["token_hash", "created_at", "expires_at", "sent_at"])
    transaction.on_commit(lambda: _invitation_send(locked, token), robust=True)
    return locked


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> None:
    """Cancel a pending invitation: its link stops working. Idempotent once cancelled."""
    _require_admin(company=invitation.company, by=by)
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise ValidationError(_("This invitation was already accepted."))
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])


def _invitation_send(invitation: Invitation, token: str) -> None:
    """Email the link; `sent_at` records that the SMTP server took it. A failure is logged and
    shown on the members page (the administrator can send it again)."""
    company = invitation.company
    link = settings.SITE_URL + reverse("invitation", kwargs={"token": token})
    recipient = User.objects.filter(email__iexact=invitation.email).first()
    language = recipient.language if recipient else settings.LANGUAGE_CODE
    context = {
        "company": company,
        "by": invitation.invited_by,
        "link": link,
        "expires_at": invitation.expires_at,
        "role": invitation.get_role_display,
        "has_account": recipient is not None,
    }
    with translation.override(language):
        subject = _("You are invited to join %(company)s on Sesame") % {"company": company.name}
        body = render_to_string("sesame/email/invitation.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except (OSError, smtplib.SMTPException):
        logger.exception("invitation %s: the email could not be sent", invitation.pk)
        return
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())


def invitation_usable(invitation: Invitation | None) -> Invitation:
    """`invitation` if it can still be accepted; else `InvitationRefused` saying why (unknown,
    accepted, revoked, expired)."""
    if invitation is None:
        raise InvitationRefused("unknown", _("This invitation link is not valid."))
    status = invitation.status
    if status == InvitationStatus.ACCEPTED:
        raise InvitationRefused("accepted", _("This invitation was already used."))
    if status == InvitationStatus.REVOKED:
        raise InvitationRefused("revoked", _("This invitation was cancelled."))
    if status == InvitationStatus.EXPIRED:
        raise InvitationRefused("expired", _("This invitation has expired: ask for a new one."))
    return invitation


def _invitation_locked(token: str) -> Invitation:
    """The invitation of this link, locked, if it can still be accepted."""
    return invitation_usable(
        Invitation.objects.select_for_update()
        .select_related("company")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )


def _join(invitation: Invitation, user: User) -> Membership:
    try:
        with transaction.atomic():
            membership, _created = Membership.objects.get_or_create(
                user=user, company=invitation.company, defaults={"role": invitation.role}
            )
    except IntegrityError as exc:
        # The database keeps agents apart (sesame.models._agents_apart), also when an agent
        # profile was written for this person since the check above.
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") == (
            "membership_not_an_agent"
        ):
            raise InvitationRefused("agent", _("Control agents cannot join a company.")) from None
        raise
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """The signed-in `user` accepts the invitation of this link: they become a member with the
    invited role, once. Refused (`InvitationRefused`): unknown, expired, already used or
    cancelled; signed in as another address than the invited one; an agent. Two acceptances at
    once: the invitation's row is locked, the second one finds it used."""
    invitation = _invitation_locked(token)
    if user.email.lower() != invitation.email:
        raise InvitationRefused(
            "wrong_account",
            _("This invitation was sent to %(invited)s: sign in with that address to accept it.")
            % {"invited": invitation.email},
        )
    if AgentProfile.objects.filter(user=user).exists():
        raise InvitationRefused("agent", _("Control agents cannot join a company."))
    return _join(invitation, user)


@transaction.atomic
def invitation_accept_new_account(*, token: str, password: str) -> Membership:
    """A person without an account accepts the invitation of this link: the account of the
    invited address is created with `password` (the portal's password rules) and joins the
    company. Refused when an account of that address exists (`account_exists`: sign in and
    accept instead), and like `invitation_accept`."""
    invitation = _invitation_locked(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationRefused(
            "account_exists",
            _("An account exists for %(email)s: sign in to accept the invitation.")
            % {"email": invitation.email},
        )
    candidate = User(email=invitation.email)
    password_validation.validate_password(password, user=candidate)
    try:
        with transaction.atomic():
            user = User.objects.create_user(invitation.email, password)
    except IntegrityError:
        raise InvitationRefused(
            "account_exists",
            _("An account exists for %(email)s: sign in to accept the invitation.")
            % {"email": invitation.email},
        ) from None
    return _join(invitation, user)


# --- sign-in failures -------------------------------------------------------------------------


def login_failure_record(*, email: str, ip: str, reason: str, wait_seconds: int = 0) -> None:
    """Leave a failed sign-in in the audit trail: an event of the account it was made for (the
    address, the reason: password, second_factor, throttled_account, throttled_address, and the
    wait imposed). An address with no account has no audit row; it is logged."""
    user = User.objects.filter(email__iexact=email.strip()[:254]).first() if email else None
    if user is None:
        logger.warning("failed sign-in for an unknown account from %s (%s)", ip, reason)
        return
    with pghistory.context(ip=ip, reason=reason, wait_seconds=wait_seconds):
        pghistory.create_event(user, label=LOGIN_FAILED)


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
