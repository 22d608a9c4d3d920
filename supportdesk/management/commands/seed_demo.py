"""Load the five demo tenants of DOMAIN.md with one login per role; idempotent."""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation
from django_scopes import scope

from supportdesk.models import Membership, Role, Tenant, User

DEMO_PASSWORD = "demo"  # noqa: S105 - printed on start; demo data only

TENANTS: list[dict[str, str]] = [
    {
        "slug": "synerity",
        "name": "Synerity",
        "language": "sv",
        "tz": "Europe/Stockholm",
        "prefix": "SYN",
    },
    {
        "slug": "stratsys",
        "name": "Stratsys",
        "language": "sv",
        "tz": "Europe/Stockholm",
        "prefix": "STR",
    },
    {
        "slug": "softone",
        "name": "SoftOne",
        "language": "sv",
        "tz": "Europe/Stockholm",
        "prefix": "SO",
    },
    {"slug": "itsl", "name": "ITSL", "language": "sv", "tz": "Europe/Stockholm", "prefix": "ITSL"},
    {
        "slug": "syneton",
        "name": "Syneton",
        "language": "nl",
        "tz": "Europe/Brussels",
        "prefix": "SNT",
    },
]

# Each app may ship `<app>/demo.py` with `load(tenant) -> list[tuple[str, str]]` returning
# (role, username) pairs of logins it created; they run in this order.
DEMO_APPS = ["sla", "contracts", "tickets", "knowledgebase"]


def _demo_user(username: str, first: str, last: str) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": f"{username}@demo.example", "first_name": first, "last_name": last},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


STAFF = [
    (Role.ADMIN, "admin", "Alex", "Admin"),
    (Role.AGENT, "agent", "Ada", "Agent"),
    (Role.MANAGER, "manager", "Mona", "Manager"),
]


class Command(BaseCommand):
    help = "Create the five demo tenants (synerity, stratsys, softone, itsl, syneton)."

    def handle(self, *args: Any, **options: Any) -> None:
        logins: list[tuple[str, str, str]] = []
        for spec in TENANTS:
            # Texts stored with the data (entitlement reasons on tickets, event details) are
            # written in the tenant's language, as its own staff and customers would.
            with transaction.atomic(), translation.override(spec["language"]):
                tenant, _created = Tenant.objects.update_or_create(
                    slug=spec["slug"],
                    defaults={
                        "name": spec["name"],
                        "default_language": spec["language"],
                        "time_zone": spec["tz"],
                        "ticket_prefix": spec["prefix"],
                        "support_email": f"support@{spec['slug']}.localhost",
                    },
                )
                with scope(tenant=tenant):
                    for role, key, first, last in STAFF:
                        user = _demo_user(f"{spec['slug']}-{key}", first, last)
                        Membership.objects.get_or_create(
                            tenant=tenant, user=user, defaults={"role": role}
                        )
                        logins.append((tenant.base_url(), role, user.username))
                    for app in DEMO_APPS:
                        try:
                            module = importlib.import_module(f"{app}.demo")
                        except ModuleNotFoundError:
                            continue
                        for app_role, username in module.load(tenant) or []:
                            logins.append((tenant.base_url(), app_role, username))
        self.stdout.write(self.style.SUCCESS("Demo tenants ready. Password for every login: demo"))
        for url, login_role, username in logins:
            self.stdout.write(f"  {url + '/':<34} {login_role:<10} {username}")
