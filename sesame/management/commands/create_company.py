from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sesame.services import company_create


class Command(BaseCommand):
    help = "Create a company by its EORI (idempotent: an existing company is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--eori", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--vat", default="")

    def handle(self, *args: object, **options: str) -> None:
        try:
            company, created = company_create(
                eori=options["eori"], name=options["name"], vat_number=options["vat"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        verb = "created" if created else "exists"
        self.stdout.write(f"{company.eori} {verb}: {company.name}")
