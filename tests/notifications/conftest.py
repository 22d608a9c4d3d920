"""Fixtures of the event outbox tests: tickets filed and replied to through the services,
handlers swapped in and out of the registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_scopes import scope

from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tickets import events
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.services import ticket_create, ticket_reply


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    """Kicks run in the test's process, never on the shared broker; the outage test switches
    to its private broker itself."""
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> dict[str, events.EventHandler]:
    """The handler registry of this test: starts as the real one; add or replace freely."""
    registry = dict(events._handlers)
    monkeypatch.setattr(events, "_handlers", registry)
    return registry


def file_ticket(cast: Cast, subject: str) -> Ticket:
    """A ticket the customer files in the portal: the agents hear about it by mail."""
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject=subject,
            description=f"About {subject}.",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )


def agent_reply(cast: Cast, ticket: Ticket, body: str) -> None:
    """A public reply by the agent: the customer hears about it by mail."""
    with scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket, body=body, public=True, channel=Channel.PORTAL, author=cast.agent
        )
