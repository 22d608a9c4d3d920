"""Tenant A's desk (priorities, an SLA policy, a contract for Org A), a ticket of the
customer contact, and a second agent whose personal macros the cast's agent must not use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_scopes import scope

from supportdesk.celery import app as celery_app
from supportdesk.models import Membership, Role, User
from tests.conftest import Cast
from tests.portal.conftest import Desk, build_desk
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.services import ticket_create


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


@pytest.fixture
def ticket(cast: Cast, desk: Desk) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Payroll export fails",
            description="The export stops at 50%.",
            channel=Channel.PORTAL,
        )


@pytest.fixture
def other_agent(cast: Cast) -> User:
    user = User.objects.create_user(username="a-agent-2", first_name="Olle", password="x" * 20)
    with scope(tenant=cast.tenant_a):
        Membership.objects.create(tenant=cast.tenant_a, user=user, role=Role.AGENT)
    return user
