"""Mark contracts whose end date has passed as expired, for one tenant or all."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from contracts.services import contracts_expire_due
from supportdesk.models import Tenant


class Command(BaseCommand):
    help = "Expire contracts whose end date has passed (the daily job, run by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Tenant slug; default: every tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        for tenant in tenants:
            with scope(tenant=tenant):
                expired = contracts_expire_due(tenant=tenant)
            self.stdout.write(f"{tenant.slug}: {len(expired)} contract(s) expired")
