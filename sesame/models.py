"""What every app shares: people, companies, memberships, border control posts, API keys."""

from typing import ClassVar, cast

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from sesame.audit import audited
from sesame.identifiers import validate_french_eori, validate_vat_number


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

    def __str__(self) -> str:
        return f"{self.user} — {self.get_service_display()} — {self.post.code}"


class Partner(models.TextChoices):
    SEMAE = "SEMAE", "SEMAE"
    TRACES = "TRACES", "TRACES-NT"
    CITES = "CITES", "CITES"
    DELTA = "DELTA", "DELTA"
    SIVEP = "SIVEP", "SIVEP"
    DGCCRF = "DGCCRF", "DGCCRF"
    PORT = "PORT", _("Port community system")


@audited()
class APIKey(AbstractAPIKey):
    """An API key of a company (sees its own data) or of a partner system."""

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    partner = models.CharField(max_length=10, choices=Partner.choices, blank=True)

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
