"""python manage.py verify_dossier FILE.zip [--public-key PEM]: check a dossier export offline."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dossier.verify import verify_export


class Command(BaseCommand):
    help = (
        "Check a dossier export: the Ed25519 signature of manifest.json (the portal's key, or "
        "--public-key), then every file's SHA-256 against the manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--public-key",
            type=Path,
            help="PEM file of the public key (GET /api/v1/dossier/signing-key/); "
            "default: this portal's key",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        public_pem = options["public_key"].read_text() if options["public_key"] else None
        report = verify_export(options["archive"], public_pem=public_pem)
        for problem in report.problems:
            self.stderr.write(f"ALTERED {problem}")
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problem(s): this export was altered.")
        self.stdout.write(
            f"OK: signature valid, {report.files_checked} file(s) match the manifest."
        )
