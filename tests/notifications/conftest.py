"""Fixtures of the event outbox tests: tickets filed and replied to through the services,
handlers swapped in and out of the registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django_scopes import scope
from kombu.simple import SimpleQueue

from supportdesk.celery import app as celery_app
from tests.brokers import BrokerUnavailable, PrivateRedis
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


@contextmanager
def celery_on(url: str) -> Iterator[None]:
    """Publish every task to ``url`` (no eager tasks), as the web process would."""
    conf = celery_app.conf
    old = conf.broker_url, conf.broker_transport_options, conf.task_always_eager
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = url, {}, False

    def fresh_pools() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    fresh_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = old
        fresh_pools()


def work_off(url: str) -> Counter[str]:
    """Run every task on the broker, and those they enqueue, until the queue is empty."""
    ran: Counter[str] = Counter()
    with celery_app.connection_for_write(url) as conn:
        queue = SimpleQueue(conn, "celery", accept=["json"])
        try:
            while True:
                try:
                    message = queue.get(timeout=1)
                except SimpleQueue.Empty:
                    return ran
                name = message.headers["task"]
                args, kwargs, _embed = message.decode()
                celery_app.tasks[name].apply(args=args, kwargs=kwargs).get()
                message.ack()
                ran[name] += 1
        finally:
            queue.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private redis-server on its own port as the Celery broker, stopped after the test
    (the outage and worker-kill tests stop it; the shared one is never touched)."""
    try:
        server = PrivateRedis(tmp_path)
        server.start()
    except BrokerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with celery_on(server.url):
            yield server
    finally:
        server.stop()
