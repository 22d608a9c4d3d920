"""Import organisations and contacts from a CSV file into a tenant, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope
from tqdm import tqdm

from contracts.imports import contacts_import_csv
from supportdesk.models import Tenant


class Command(BaseCommand):
    help = (
        "Import organisations and contacts from CSV. Columns: organisation, name, email "
        "(required); org_number, email_domains, licence_customer, phone, language, trained_on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="Tenant slug")
        parser.add_argument("file", type=Path, help="CSV file (UTF-8 or Windows-1252)")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        # The raw stream: Django's wrapper would end every redraw of the bar with a newline.
        stream = getattr(self.stderr, "_out", self.stderr)
        bar = tqdm(total=0, unit="row", disable=options["no_progress"], file=stream)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            with scope(tenant=tenant):
                report = contacts_import_csv(tenant=tenant, data=data, progress=progress)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        finally:
            bar.close()
        for row in report.failed:
            self.stderr.write(f"line {row.line}: {row.message}")
        self.stdout.write(
            f"{report.saved} of {report.total} rows saved; "
            f"organisations created: {report.organisations_created}, "
            f"contacts created: {report.contacts_created}, updated: {report.contacts_updated}."
        )
