"""Load the demo tenants of DOMAIN.md from ``demo/<slug>.yaml`` with one login per role.

Each file is loaded through the services in its own transaction: a value they refuse stops
the command with a message naming the file and the key, and nothing of that tenant is kept.
Idempotent: running it again creates no duplicates.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import translation
from django_scopes import scope

from supportdesk.demo import DEMO_DIR, DemoDataError, Section, demo_files, load_demo
from supportdesk.models import Language, Membership, Role, Tenant, User

DEMO_PASSWORD = "demo"  # noqa: S105 - printed on start; demo data only

# Each app may ship `<app>/demo.py` with `load(tenant, data) -> list[tuple[str, str]]`
# returning (role, username) pairs of logins it created; they run in this order.
DEMO_APPS = ["sla", "contracts", "tickets", "knowledgebase"]


def _demo_user(username: str, first: str, last: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username, email=f"{username}@demo.example", first_name=first, last_name=last
        )
        user.set_password(DEMO_PASSWORD)
        user.full_clean()
        user.save()
    return user


# Tenant fields as the files name them.
TENANT_KEYS = {
    "default_language": "language",
    "time_zone": "time_zone",
    "ticket_prefix": "prefix",
    "vendor_wait_pauses_resolution": "vendor_wait_pauses_resolution",
    "vendor_update_days": "vendor_update_days",
    "problem_suggest_count": "problem_suggest_count",
    "problem_suggest_hours": "problem_suggest_hours",
}


def _tenant(slug: str, data: Section) -> Tenant:
    """Create or update the tenant the file describes (validated like the admin's form)."""
    spec = data.section("tenant")
    tenant = Tenant.objects.filter(slug=slug).first() or Tenant(slug=slug)
    tenant.name = spec.str("name")
    tenant.default_language = spec.str("language")
    tenant.time_zone = spec.str("time_zone")
    tenant.ticket_prefix = spec.str("prefix")
    # Optional: the vendor escalation's rules (Synerity); absent keys keep the defaults.
    if spec.has("vendor_wait_pauses_resolution"):
        tenant.vendor_wait_pauses_resolution = spec.bool("vendor_wait_pauses_resolution")
    if spec.has("vendor_update_days"):
        tenant.vendor_update_days = spec.int("vendor_update_days")
    # Optional: when recurring incidents suggest a problem (ITSL); absent keys keep "off".
    if spec.has("problem_suggest_count"):
        tenant.problem_suggest_count = spec.int("problem_suggest_count")
    if spec.has("problem_suggest_hours"):
        tenant.problem_suggest_hours = spec.int("problem_suggest_hours")
    tenant.support_email = f"support@{slug}.localhost"
    try:
        tenant.full_clean()
    except ValidationError as exc:
        raise spec.refused(exc, TENANT_KEYS) from exc
    tenant.save()
    return tenant


STAFF = [
    (Role.ADMIN, "admin", "Alex", "Admin"),
    (Role.AGENT, "agent", "Ada", "Agent"),
    (Role.MANAGER, "manager", "Mona", "Manager"),
]


class Command(BaseCommand):
    help = (
        "Create the demo tenants of demo/<slug>.yaml (synerity, stratsys, softone, itsl, syneton)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo-dir",
            type=Path,
            default=DEMO_DIR,
            help="Directory of the <slug>.yaml demo files (default: demo/).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = demo_files(options["demo_dir"])
        if not files:
            raise CommandError(f"No demo files (*.yaml) in {options['demo_dir']}.")
        logins: list[tuple[str, str, str]] = []
        for path in files:
            try:
                logins.extend(self._load(path))
            except DemoDataError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS("Demo tenants ready. Password for every login: demo"))
        for url, login_role, username in logins:
            self.stdout.write(f"  {url + '/':<34} {login_role:<10} {username}")

    def _load(self, path: Path) -> list[tuple[str, str, str]]:
        """One tenant's file, all or nothing; returns its (url, role, username) logins."""
        data = load_demo(path)
        language = data.section("tenant").str("language")
        if language not in Language.values:
            raise data.section("tenant").error("language", f"unknown language {language!r}")
        logins: list[tuple[str, str, str]] = []
        # Texts stored with the data (entitlement reasons on tickets, event details) are
        # written in the tenant's language, as its own staff and customers would.
        with transaction.atomic(), translation.override(language):
            tenant = _tenant(path.stem, data)
            with scope(tenant=tenant):
                for role, key, first, last in STAFF:
                    user = _demo_user(f"{tenant.slug}-{key}", first, last)
                    Membership.objects.get_or_create(
                        tenant=tenant, user=user, defaults={"role": role}
                    )
                    logins.append((tenant.base_url(), role, user.username))
                for app in DEMO_APPS:
                    module = importlib.import_module(f"{app}.demo")
                    for app_role, username in module.load(tenant, data) or []:
                        logins.append((tenant.base_url(), app_role, username))
        return logins
