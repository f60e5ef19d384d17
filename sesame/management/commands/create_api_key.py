from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sesame.identifiers import compact
from sesame.models import Company
from sesame.services import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key for a company (--company EORI) or a partner (--partner NAME). "
        "The key is printed on the last line, once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--company", metavar="EORI")
        owner.add_argument("--partner", metavar="NAME")
        parser.add_argument("--name", default="")

    def handle(self, *args: object, **options: str) -> None:
        company = None
        if options["company"]:
            company = Company.objects.filter(eori=compact(options["company"])).first()
            if company is None:
                raise CommandError(f"No company with EORI {options['company']}; create it first.")
        try:
            key, raw = api_key_create(
                company=company, partner=(options["partner"] or "").upper(), name=options["name"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(f"API key {key.prefix} for {key.owner_label}:")
        self.stdout.write(raw)
