"""The event outbox: deliveries stored with the change, run by the relay until each is done,
retried with backoff, never run twice for an effect, at a fixed cost per batch."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from notifications import services, tasks
from notifications.models import DeliveryStatus, EventDelivery
from tests.conftest import Cast
from tickets import events
from tickets.mail.models import OutboundEmail
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.tasks import ticket_events_dispatch

from .conftest import agent_reply, file_ticket

START = dt.datetime(2026, 5, 4, 8, tzinfo=dt.UTC)
MAIL_HANDLER = "notifications.channels.email.notify_by_mail"


@pytest.fixture
def mail_only(handlers: dict[str, events.EventHandler]) -> None:
    """The mail handler alone: these tests count one delivery per event. (The webhook
    channel's handler is registered too; ``tests/notifications/test_webhooks.py``.)"""
    for name in [n for n in handlers if n != MAIL_HANDLER]:
        del handlers[name]


def _deliveries() -> list[EventDelivery]:
    with scopes_disabled():
        return list(EventDelivery.objects.order_by("id"))


def _mail_keys(cast: Cast) -> list[str]:
    with scope(tenant=cast.tenant_a):
        return sorted(OutboundEmail.objects.values_list("key", flat=True))


def _agent_keys(cast: Cast, ticket: Ticket) -> list[str]:
    """The mails filing ``ticket`` owes: one to each agent of tenant A (the admin counts)."""
    with scope(tenant=cast.tenant_a):
        created = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CREATED)
    return sorted(f"event:{created.pk}:agent:{u.pk}" for u in (cast.admin, cast.agent))


def test_the_deliveries_of_a_change_commit_with_it_or_not_at_all(
    cast: Cast, mail_only: None
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        file_ticket(cast, "Rolled back")
        assert len(_deliveries()) == 1
        raise RuntimeError("the request failed after filing")
    assert _deliveries() == []
    ticket = file_ticket(cast, "Kept")
    (delivery,) = _deliveries()
    assert (delivery.handler, delivery.status, delivery.attempts) == (MAIL_HANDLER, "pending", 0)
    assert _mail_keys(cast) == [], "nothing runs before the relay"

    assert services.deliveries_relay() == 1
    assert _mail_keys(cast) == _agent_keys(cast, ticket)
    (delivery,) = _deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("done", 1, "")
    assert services.deliveries_relay() == 0, "a done delivery is not run again"


def test_the_kick_after_commit_runs_the_new_deliveries_at_once(
    cast: Cast, django_capture_on_commit_callbacks: object, mail_only: None
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        ticket = file_ticket(cast, "Kicked")
    assert _mail_keys(cast) == _agent_keys(cast, ticket)
    assert [d.status for d in _deliveries()] == ["done"]


def test_a_handler_failing_on_a_database_error_is_retried_with_backoff_then_succeeds(
    cast: Cast, handlers: dict[str, events.EventHandler]
) -> None:
    calls: list[int] = []

    def flaky(event: TicketEvent) -> None:
        calls.append(event.pk)
        if len(calls) <= 2:
            with connection.cursor() as cursor:  # a real error from the database
                cursor.execute("SELECT * FROM no_such_table")

    mail_runs: list[int] = []
    mail_handler = handlers[MAIL_HANDLER]

    def counted_mail(event: TicketEvent) -> None:
        mail_runs.append(event.pk)
        mail_handler(event)

    handlers.clear()
    handlers[MAIL_HANDLER] = counted_mail
    handlers["tests.flaky"] = flaky
    with time_machine.travel(START, tick=False) as clock:
        ticket = file_ticket(cast, "Flaky")
        assert services.deliveries_relay() == 2
        mail, retried = _deliveries()
        assert (mail.status, retried.status, retried.attempts) == ("done", "pending", 1)
        assert "no_such_table" in retried.last_error
        assert retried.next_attempt_at == START + dt.timedelta(seconds=15)

        clock.shift(dt.timedelta(seconds=14))
        assert services.deliveries_relay() == 0, "not before its backoff has passed"
        clock.shift(dt.timedelta(seconds=1))
        assert services.deliveries_relay() == 1
        retried.refresh_from_db()
        assert (retried.status, retried.attempts) == ("pending", 2)
        assert retried.next_attempt_at == START + dt.timedelta(seconds=15 + 30), "doubled"

        clock.shift(dt.timedelta(seconds=30))
        assert services.deliveries_relay() == 1
    retried.refresh_from_db()
    assert (retried.status, retried.attempts, retried.last_error) == ("done", 3, "")
    assert len(calls) == 3
    assert len(mail_runs) == 1, "the handler that succeeded is not run again"
    assert _mail_keys(cast) == _agent_keys(cast, ticket)


@override_settings(METRICS_TOKEN="s3cret-token")
def test_a_delivery_is_given_up_after_the_last_attempt_logged_and_counted_in_metrics(
    cast: Cast, handlers: dict[str, events.EventHandler], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: TicketEvent) -> None:
        raise ValueError("the template is missing")

    handlers.clear()
    handlers["tests.broken"] = broken

    def metrics() -> str:
        return Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").content.decode()

    with time_machine.travel(START, tick=False) as clock:
        file_ticket(cast, "Broken")
        clock.shift(dt.timedelta(minutes=2))
        text = metrics()
        assert 'supportdesk_outbox_pending{outbox="ticket_events"} 1.0' in text
        assert 'supportdesk_outbox_oldest_pending_seconds{outbox="ticket_events"} 120.0' in text
        assert 'supportdesk_outbox_failed{outbox="ticket_events"} 0.0' in text
        with caplog.at_level(logging.WARNING, logger="notifications.services"):
            for attempt in range(1, services.MAX_ATTEMPTS + 1):
                assert services.deliveries_relay() == 1, f"attempt {attempt}"
                clock.shift(services.backoff(attempt))
            assert services.deliveries_relay() == 0
        text = metrics()
    (delivery,) = _deliveries()
    assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert delivery.last_error == "ValueError: the template is missing"
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(given_up) == 1 and "gave up" in given_up[0].getMessage()
    assert 'supportdesk_outbox_pending{outbox="ticket_events"} 0.0' in text
    assert 'supportdesk_outbox_failed{outbox="ticket_events"} 1.0' in text


def test_a_dispatch_delivered_twice_or_rerun_after_a_crash_duplicates_nothing(
    cast: Cast, handlers: dict[str, events.EventHandler]
) -> None:
    runs: list[int] = []
    handlers["tests.counted"] = lambda event: runs.append(event.pk)
    ticket = file_ticket(cast, "Twice")
    agent_reply(cast, ticket, "We are on it.")
    with scope(tenant=cast.tenant_a):
        event_ids = list(TicketEvent.objects.values_list("pk", flat=True))
    expected = _mail_keys(cast)
    assert expected == []

    # The broker hands the same kick to two workers (acks_late redelivery).
    first = tasks.deliveries_run.apply(args=(cast.tenant_a.pk, event_ids)).get()
    second = tasks.deliveries_run.apply(args=(cast.tenant_a.pk, event_ids)).get()
    assert (first, second) == (len(_deliveries()), 0)
    expected = _mail_keys(cast)
    assert len(expected) == 3, "two agents told of the ticket, the customer of the reply"
    assert sorted(runs) == sorted(set(runs))

    # A worker died after the handlers committed and before their rows were marked done:
    # the lease ends and the relay runs them again. The mails are there already, once.
    with scopes_disabled():
        EventDelivery.objects.update(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now())
    assert services.deliveries_relay() == len(_deliveries())
    assert _mail_keys(cast) == expected
    with scope(tenant=cast.tenant_a):
        assert OutboundEmail.objects.count() == 3

    # A dispatch queued by the release before the outbox, still in the broker at the upgrade.
    for _ in range(2):
        ticket_events_dispatch.apply(args=(cast.tenant_a.pk, event_ids)).get()
    assert services.deliveries_relay() == 0
    assert _mail_keys(cast) == expected


def test_a_claimed_delivery_is_left_alone_until_its_lease_ends(cast: Cast, mail_only: None) -> None:
    with time_machine.travel(START, tick=False) as clock:
        file_ticket(cast, "Leased")
        (claimed,) = services.deliveries_claim()
        assert services.deliveries_claim() == [], "another relay does not take it"
        clock.shift(services.LEASE)  # the worker holding it died
        (again,) = services.deliveries_claim()
    assert (claimed.pk, claimed.attempts, again.attempts) == (again.pk, 1, 2)


def _relay_statements() -> list[str]:
    """The relay's statements, without the transaction brackets: each handler runs in a
    transaction of its own by design (BEGIN on SQLite, savepoints inside the test's)."""
    with CaptureQueriesContext(connection) as ctx:
        services.deliveries_relay()
    control = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "COMMIT")
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(control)]


def test_the_relay_costs_the_same_statements_per_batch_whatever_its_size(
    cast: Cast, handlers: dict[str, events.EventHandler]
) -> None:
    handlers.clear()
    handlers["tests.noop"] = lambda event: None
    for n in range(3):
        file_ticket(cast, f"Small {n}")
    small = _relay_statements()
    for n in range(services.BATCH_SIZE - 1):
        file_ticket(cast, f"Large {n}")
    large = _relay_statements()
    # Claim (SELECT … FOR UPDATE SKIP LOCKED, UPDATE), the events with their tickets, the
    # tenants, the UPDATE marking them done.
    assert len(small) == len(large) == 5, "\n".join(large)
    if connection.vendor == "postgresql":
        assert large[0].endswith("FOR UPDATE SKIP LOCKED"), large[0]
    assert all(d.status == "done" for d in _deliveries())
