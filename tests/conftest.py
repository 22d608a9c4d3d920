"""The fixed cast shared by every test: tenant A with one person per role, tenant B whose
rows carry marker strings that must never show up in anything tenant A sees.

Apps extend tenant B's data in ``tests/<app>/leak_targets.py`` (see ``tests/test_leaks.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django_scopes import scope, scopes_disabled

from contracts.models import Contact, Organisation
from supportdesk.celery import app as celery_app
from supportdesk.models import ApiToken, Membership, Role, Tenant, User

B_MARKER = "Zq7bMARKER"
"""Appears in every text field of tenant B's rows."""

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Cast:
    tenant_a: Tenant
    tenant_b: Tenant
    admin: User
    agent: User
    manager: User
    customer: User
    named: User
    org_a: Organisation
    customer_contact: Contact
    named_contact: Contact
    agent_b: User
    contact_b_user: User
    org_b: Organisation
    contact_b: Contact
    extra: dict[str, Any] = field(default_factory=dict)

    def users_a(self) -> dict[str, User]:
        return {
            "admin": self.admin,
            "agent": self.agent,
            "manager": self.manager,
            "customer": self.customer,
            "named": self.named,
        }


def _user(username: str, **extra: Any) -> User:
    return User.objects.create_user(
        username=username, email=f"{username}@example.test", password=PASSWORD, **extra
    )


def build_cast() -> Cast:
    with scopes_disabled():
        tenant_a = Tenant.objects.create(slug="tenant-a", name="Tenant A", ticket_prefix="TA")
        tenant_b = Tenant.objects.create(
            slug="tenant-b", name=f"Tenant B {B_MARKER}", ticket_prefix="TB"
        )
    with scope(tenant=tenant_a):
        admin, agent, manager = _user("a-admin"), _user("a-agent"), _user("a-manager")
        for user, role in ((admin, Role.ADMIN), (agent, Role.AGENT), (manager, Role.MANAGER)):
            Membership.objects.create(tenant=tenant_a, user=user, role=role)
        customer, named = _user("a-customer"), _user("a-named")
        org_a = Organisation.objects.create(
            tenant=tenant_a, name="Org A", email_domains="orga.example.test"
        )
        customer_contact = Contact.objects.create(
            tenant=tenant_a,
            organisation=org_a,
            name="Carla Customer",
            email="carla@orga.example.test",
            user=customer,
        )
        named_contact = Contact.objects.create(
            tenant=tenant_a,
            organisation=org_a,
            name="Nils Named",
            email="nils@orga.example.test",
            user=named,
        )
    with scope(tenant=tenant_b):
        agent_b = _user("b-agent", first_name=B_MARKER)
        Membership.objects.create(tenant=tenant_b, user=agent_b, role=Role.AGENT)
        contact_b_user = _user("b-contact", first_name=B_MARKER)
        org_b = Organisation.objects.create(
            tenant=tenant_b, name=f"Org {B_MARKER}", notes=B_MARKER, email_domains="orgb.test"
        )
        contact_b = Contact.objects.create(
            tenant=tenant_b,
            organisation=org_b,
            name=f"Bob {B_MARKER}",
            email="bob@orgb.test",
            user=contact_b_user,
        )
    return Cast(
        tenant_a=tenant_a,
        tenant_b=tenant_b,
        admin=admin,
        agent=agent,
        manager=manager,
        customer=customer,
        named=named,
        org_a=org_a,
        customer_contact=customer_contact,
        named_contact=named_contact,
        agent_b=agent_b,
        contact_b_user=contact_b_user,
        org_b=org_b,
        contact_b=contact_b,
    )


@pytest.fixture(autouse=True)
def celery_conf_restored() -> Iterator[None]:
    """Whatever a test or fixture sets on the Celery app (eager tasks) ends with the test: a
    fixture that turned eager on and never off made later tests' seeding send mail, and the
    migration round trip then compared rows that depend on which tests ran before."""
    keys = ("task_always_eager", "task_eager_propagates")
    saved = {key: celery_app.conf[key] for key in keys}
    yield
    celery_app.conf.update(saved)


@pytest.fixture(autouse=True)
def language_restored() -> Iterator[None]:
    """The language a request activated (the middleware activates the reader's language for
    the thread) ends with the test: a Dutch reader's request made the next test's refusal
    read in Dutch."""
    before = translation.get_language()
    yield
    if before:
        translation.activate(before)
    else:
        translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Throttle counters (password resets, API keys) live in the cache: none carry over."""
    cache.clear()


@pytest.fixture
def cast(db: None) -> Cast:
    return build_cast()


def host_of(tenant: Tenant) -> str:
    return f"{tenant.slug}.localhost"


def client_for(user: User | None, tenant: Tenant) -> Client:
    """A browser on the tenant's host, logged in as ``user`` (anonymous when None)."""
    client = Client(HTTP_HOST=host_of(tenant))
    if user is not None:
        client.force_login(user)
    return client


def api_client_for(user: User, tenant: Tenant) -> Client:
    """A script on 127.0.0.1 with the user's API token for the tenant."""
    _token, key = ApiToken.issue(tenant=tenant, user=user, name="test")
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def in_tenant_a(cast: Cast) -> Iterator[Tenant]:
    """Run the test body inside tenant A's scope."""
    with scope(tenant=cast.tenant_a):
        yield cast.tenant_a
