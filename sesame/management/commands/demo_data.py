"""Demo data for `make run`: two companies, their people, one agent per post, API keys."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from sesame.management.commands import _demo_activity
from sesame.models import AgentProfile, AgentService, APIKey, BorderControlPost, Membership, User
from sesame.services import api_key_create, company_create

PASSWORD = "sesame-demo-2026"
COMPANIES = [
    ("FR73282932000074", "ACME Transit", "acme"),
    ("FR552100554", "Portuaire Logistique", "portlog"),
]
# Known TOTP secrets so that the demo agents can sign in (printed by the command).
AGENTS = [
    (
        "FRLEH4",
        "agent.lehavre@douane.example",
        AgentService.CUSTOMS,
        "SESAMEDEMOLEHAVREAGENTTOTPSEED22",
    ),
    (
        "FRDKK4",
        "agent.dunkerque@sivep.example",
        AgentService.SIVEP,
        "SESAMEDEMODUNKERQUEAGENTTOTPS222",
    ),
    (
        "FRMRS4",
        "agent.marseille@dgccrf.example",
        AgentService.DGCCRF,
        "SESAMEDEMOMARSEILLEAGENTTOTPS222",
    ),
]
DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the logins and fresh demo API keys."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        lines = ["", f"Demo logins (password: {PASSWORD})"]
        for eori, name, slug in COMPANIES:
            company, _ = company_create(eori=eori, name=name)
            for role in ("admin", "operator"):
                email = f"{role}@{slug}.example"
                user = _user(email, role.capitalize(), name)
                Membership.objects.get_or_create(
                    user=user, company=company, defaults={"role": role}
                )
                lines.append(f"  {role:9} {email:34} {name} ({eori})")
            operator = User.objects.get(email=f"operator@{slug}.example")
            _demo_activity.load(company=company, operator=operator, tag=slug.upper())
            from appointments import demo as appointments_demo

            appointments_demo.load(company=company, tag=slug.upper(), by=operator.email)
        _demo_dossier()
        for code, email, service, secret in AGENTS:
            post = BorderControlPost.objects.get(code=code)
            user = _user(email, "Agent", post.name)
            AgentProfile.objects.update_or_create(
                user=user, defaults={"service": service, "post": post}
            )
            _totp_secret_ensure(user, secret)
            now = int(timezone.now().timestamp()) // 30
            lines.append(
                f"  agent     {email:34} {post.name}\n            TOTP secret {secret} "
                f"(code now: {format_hotp_value(hotp_value(secret, now))})"
            )
        lines.append("")
        lines.append("Demo API keys (new each run; the previous demo keys are revoked):")
        APIKey.objects.filter(name__startswith=DEMO_KEY_NAME).update(revoked=True)
        for eori, name, _slug in COMPANIES:
            from sesame.models import Company

            _key, raw = api_key_create(
                company=Company.objects.get(eori=eori), name=f"{DEMO_KEY_NAME} {name}"
            )
            lines.append(f"  company {eori:17} Authorization: Api-Key {raw}")
        for partner in ("SEMAE", "TRACES", "CITES", "DELTA", "SIVEP", "PORT"):
            _key, raw = api_key_create(partner=partner, name=f"{DEMO_KEY_NAME} {partner}")
            lines.append(f"  partner {partner:17} Authorization: Api-Key {raw}")
        if not options.get("quiet"):
            self.stdout.write("\n".join(lines))


def _demo_dossier() -> None:
    """A dossier for the first company's first consignment, shared with the second company."""
    from dossier.demo import demo_load
    from sesame.models import Company
    from tracking.models import Consignment

    (eori, _name, slug), (other_eori, _other, _slug) = COMPANIES[0], COMPANIES[1]
    consignment = Consignment.objects.filter(
        company__eori=eori, reference=f"{slug.upper()}-001"
    ).first()
    if consignment is not None:
        demo_load(
            consignment=consignment,
            share_with=Company.objects.filter(eori=other_eori).first(),
            by=f"operator@{slug}.example",
        )


def _user(email: str, first: str, last: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, PASSWORD, first_name=first, last_name=last)
    return user


def _totp_secret_ensure(user: User, secret: str) -> None:
    """The agent's authenticator holds the secret printed for them: one enrolled since with
    another secret (or none at all) is replaced, so every printed secret gives working codes."""
    current = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if current is not None:
        if decrypt(current.data.get("secret", "")) == secret:
            return
        current.delete()
    TOTP.activate(user, secret)
