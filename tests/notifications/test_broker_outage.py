"""The broker goes away during a burst of filings and replies: nothing is dispatched while it
is away, nothing is lost, and once it is back the relay delivers every notification once.

The broker is a private ``redis-server`` on a free port (keeping its data across the restart,
as a production one does); the shared one is never touched. The "worker" runs in this
process, taking each message off the private broker and running its task as a worker would,
so the test runs on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from notifications import tasks
from notifications.models import EventDelivery
from tests.brokers import PrivateRedis
from tests.conftest import Cast
from tickets.mail.models import OutboundEmail, OutboundStatus
from tickets.models import EventKind, Ticket, TicketEvent

from .conftest import agent_reply, file_ticket, work_off

pytestmark = pytest.mark.django_db(transaction=True)  # kicks run at real commits


def _expected_keys(cast: Cast, tickets: list[Ticket]) -> set[str]:
    """What the burst owes: each agent (the admin counts) hears of each new ticket, the
    customer of each public agent reply."""
    with scope(tenant=cast.tenant_a):
        events = TicketEvent.objects.filter(ticket__in=tickets)
        created = events.filter(kind=EventKind.CREATED).values_list("pk", flat=True)
        replied = events.filter(kind=EventKind.REPLIED).values_list("pk", flat=True)
        keys = {f"event:{e}:agent:{u.pk}" for e in created for u in (cast.admin, cast.agent)}
        return keys | {f"event:{e}:to:{cast.customer_contact.pk}" for e in replied}


def test_a_broker_outage_during_a_burst_delays_notifications_and_loses_none(
    cast: Cast, broker: PrivateRedis, mailoutbox: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    tickets = [file_ticket(cast, f"Before {n}") for n in range(2)]  # kicks queued on Redis
    broker.stop()
    with caplog.at_level(logging.ERROR, logger="supportdesk.services"):
        for n in range(3):
            ticket = file_ticket(cast, f"During {n}")
            agent_reply(cast, ticket, f"Looking into it ({n}).")
            tickets.append(ticket)
        agent_reply(cast, tickets[0], "An update while the broker is away.")
    kicks_lost = [r for r in caplog.records if "could not enqueue" in r.getMessage()]
    assert len(kicks_lost) == 7, "every write succeeded; its kick was logged, not raised"
    with scopes_disabled():
        assert not OutboundEmail.objects.exists(), "nothing is dispatched without a worker"
        assert EventDelivery.objects.filter(status="pending").count() >= 2 + 3 * 2 + 1

    broker.start()
    tasks.deliveries_relay.delay()  # beat's next tick
    ran = work_off(broker.url)
    assert ran["notifications.deliveries_relay"] == 1
    assert ran["notifications.deliveries_run"] == 2, "the kicks queued before the outage"

    expected = _expected_keys(cast, tickets)
    assert len(expected) == 5 * 2 + 4
    with scopes_disabled():
        assert not EventDelivery.objects.exclude(status="done").exists()
        mails = list(OutboundEmail.objects.values_list("key", "status"))
    assert Counter(key for key, _ in mails) == Counter(expected), "each notification once"
    assert {status for _, status in mails} == {OutboundStatus.SENT}
    sent = Counter(m.extra_headers["Message-ID"] for m in mailoutbox)
    assert len(sent) == len(expected) and max(sent.values()) == 1, "and each sent once"
