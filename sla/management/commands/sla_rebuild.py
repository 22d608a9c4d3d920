"""Rebuild SLA clocks and queue schedule rows from ticket history (after a restore or a
migration that lost derived rows)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scopes_disabled

from sla.services import sla_rebuild
from supportdesk.models import Tenant


class Command(BaseCommand):
    help = "Rebuild every ticket's SLA clocks and schedule row from its history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="only this tenant (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        with scopes_disabled():
            chosen = Tenant.objects.order_by("slug")
            if options["tenant"]:
                chosen = chosen.filter(slug=options["tenant"])
            tenants = list(chosen)
        if options["tenant"] and not tenants:
            raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
        for tenant in tenants:
            count = sla_rebuild(tenant=tenant)
            self.stdout.write(f"{tenant.slug}: {count} tickets rebuilt")
