"""What every app shares: people, companies, memberships, border control posts, API keys."""

from typing import ClassVar, cast

import pghistory
import pgtrigger
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from sesame.audit import audited
from sesame.identifiers import validate_french_eori, validate_vat_number

LOGIN_FAILED = "login.failed"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


# A failed sign-in is an event of the account it was made for, with the address and the reason
# in its context (sesame.services.login_failure_record).
@pghistory.track(
    pghistory.ManualEvent(LOGIN_FAILED), fields=["email"], model_name="UserLoginFailure"
)
@audited()
class User(AbstractUser):
    """A person who signs in with an email address."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(
        _("language"), max_length=2, choices=[("fr", "Français"), ("en", "English")], default="fr"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    # The stubs want django.contrib.auth's UserManager (username-based create_user); this
    # manager keeps Django's contract for an email login, as USERNAME_FIELD allows.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Port(models.TextChoices):
    LE_HAVRE = "FRLEH", "Le Havre"
    DUNKERQUE = "FRDKK", "Dunkerque"
    MARSEILLE = "FRMRS", "Marseille"


class BorderControlPost(models.Model):
    """A border control post (BCP) where SIVEP, DGCCRF and customs control goods."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=120)
    port = models.CharField(_("port"), max_length=5, choices=Port.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("border control post")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


@audited()
class Company(models.Model):
    """An operator company (freight forwarder, customs representative, importer)."""

    eori = models.CharField("EORI", max_length=17, unique=True, validators=[validate_french_eori])
    name = models.CharField(_("name"), max_length=200)
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return f"{self.name} ({self.eori})"


def _agents_apart(name: str, other_table: str) -> pgtrigger.Trigger:
    """Agents are never members of a company: a row here is refused while the same user has a
    row in `other_table`. The user's row is locked first, so a membership and an agent profile
    written at the same time for one person cannot both pass."""
    return pgtrigger.Trigger(
        name=name,
        operation=pgtrigger.Insert | pgtrigger.Update,
        when=pgtrigger.Before,
        func=f"""
            PERFORM 1 FROM sesame_user WHERE id = NEW.user_id FOR UPDATE;
            IF EXISTS (SELECT 1 FROM {other_table} WHERE user_id = NEW.user_id) THEN
                RAISE EXCEPTION 'agents are never members of a company (user %)', NEW.user_id
                    USING ERRCODE = 'check_violation', CONSTRAINT = '{name}';
            END IF;
            RETURN NEW;
        """,  # noqa: S608 (the table and constraint names are this module's constants)
    )


class Role(models.TextChoices):
    ADMIN = "admin", _("Company administrator")
    OPERATOR = "operator", _("Operator")


@audited()
class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.OPERATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="membership_unique"),
        ]
        ordering = ["company__name", "user__email"]
        triggers = [_agents_apart("membership_not_an_agent", "sesame_agentprofile")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company} ({self.role})"


class AgentService(models.TextChoices):
    CUSTOMS = "customs", _("Customs (DGDDI)")
    SIVEP = "sivep", _("SIVEP (veterinary and phytosanitary)")
    DGCCRF = "dgccrf", _("DGCCRF")


@audited()
class AgentProfile(models.Model):
    """Makes a user an agent of a control service, attached to a border control post."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agent")
    service = models.CharField(_("service"), max_length=10, choices=AgentService.choices)
    post = models.ForeignKey(BorderControlPost, on_delete=models.PROTECT, related_name="agents")

    class Meta:
        triggers = [_agents_apart("agent_not_a_member", "sesame_membership")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_service_display()} — {self.post.code}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Cancelled")
    EXPIRED = "expired", _("Expired")


@audited()
class Invitation(models.Model):
    """An invitation to join a company: pending until the invited person accepts it, once,
    before it expires. The link sent by email carries a secret; only its SHA-256 is stored."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.OPERATOR)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation")
        constraints = [
            # One pending invitation per person and company (a new one cancels the old one).
            models.UniqueConstraint(
                fields=["company", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_accepted_or_revoked",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_later"
            ),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="invitation_email_lower"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.company} ({self.status})"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    def get_status_display(self) -> str:
        return str(InvitationStatus(self.status).label)


class Partner(models.TextChoices):
    SEMAE = "SEMAE", "SEMAE"
    TRACES = "TRACES", "TRACES-NT"
    CITES = "CITES", "CITES"
    DELTA = "DELTA", "DELTA"
    SIVEP = "SIVEP", "SIVEP"
    DGCCRF = "DGCCRF", "DGCCRF"
    PORT = "PORT", _("Port community system")


@audited(exclude=["last_used_at"])
class APIKey(AbstractAPIKey):
    """An API key of a company (sees its own data) or of a partner system.

    ``scopes`` say what it may do (``sesame.api.scopes``: read, write, per resource family);
    ``last_used_at`` is written at most once a minute per process, and left out of the audit
    trail (a use changes no business data)."""

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    partner = models.CharField(max_length=10, choices=Partner.choices, blank=True)
    scopes = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        # The base Meta's plain string types the attribute as str; Django takes lazy strings.
        verbose_name = cast(str, _("API key"))
        constraints = [
            models.CheckConstraint(
                condition=(Q(company__isnull=False) & Q(partner=""))
                | (Q(company__isnull=True) & ~Q(partner="")),
                name="apikey_company_xor_partner",
            ),
        ]

    @property
    def owner_label(self) -> str:
        if not self.company_id:
            return self.partner
        company = self.company
        assert company is not None  # company_id is set and the foreign key holds
        return company.eori


from sesame.api.models import IdempotencyRecord  # noqa: E402, F401  (the API layer's table)
