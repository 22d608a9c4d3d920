"""A worker killed with ``kill -9`` in the middle of a handler: the delivery is claimed, so no
other relay takes it while the worker may still run; when its lease ends it is due again, and
the relay delivers it, once. A real Celery worker on a private redis-server and the test's
PostgreSQL database."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from notifications import services
from notifications.models import EventDelivery
from tests.brokers import PrivateRedis
from tests.celery_workers import database_url, wait_until, worker_kill, worker_start, worker_stop
from tests.conftest import Cast
from tickets.mail.models import OutboundEmail
from tickets.models import EventKind, TicketEvent

from .conftest import file_ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a real worker needs a shared PostgreSQL"
    ),
]

MAIL_HANDLER = "notifications.channels.email.notify_by_mail"

TIME_LIMIT = 5
"""The worker's task time limit, so its lease (the limit + 10 s) ends within the test."""


class Blocker(threading.Thread):
    """Holds an uncommitted outbox row with the key the handler will write, on a connection of
    its own, so the handler's INSERT waits on the unique index: a handler caught mid-run."""

    def __init__(self, cast: Cast, key: str) -> None:
        super().__init__(daemon=True)
        self.cast, self.key = cast, key
        self.holding, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic(), scope(tenant=self.cast.tenant_a):
                OutboundEmail.objects.create(
                    tenant=self.cast.tenant_a, key=self.key, message_id="blocker@example.test",
                    kind="agent_new_ticket", to_address="x@example.test",
                    from_address="y@example.test", subject="-", body="-",
                )  # fmt: skip
                self.holding.set()
                self.release.wait(120)
                transaction.set_rollback(True)
        finally:
            connection.close()


def test_a_worker_killed_mid_handler_delays_the_delivery_and_loses_nothing(
    cast: Cast, broker: PrivateRedis, tmp_path: Path
) -> None:
    ticket = file_ticket(cast, "Killed mid-handler")  # its kick waits on the broker
    with scope(tenant=cast.tenant_a):
        created = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CREATED)
    keys = [f"event:{created.pk}:agent:{u.pk}" for u in (cast.admin, cast.agent)]
    blocker = Blocker(cast, keys[0])
    blocker.start()
    assert blocker.holding.wait(30)

    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker.url,
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = worker_start("celery", name="outbox-kill", env=env, log=log)
    try:
        with scopes_disabled():
            # The mail handler's delivery: its INSERT is the one the blocker holds up. (The
            # tenant has no webhook: that channel's store-time filter owes it nothing.)
            delivery = EventDelivery.objects.get(event=created, handler=MAIL_HANDLER)
            wait_until(
                lambda: EventDelivery.objects.filter(pk=delivery.pk, attempts=1).exists(),
                90,
                "the worker to claim the delivery",
            )
            delivery.refresh_from_db()
        worker_kill(worker)  # its handler is waiting on the INSERT
    finally:
        blocker.release.set()
        blocker.join(30)
        worker_stop(worker)

    assert delivery.status == "pending"
    assert services.deliveries_relay() == 0, "leased: the dead worker might still be running"
    with scopes_disabled():
        assert not OutboundEmail.objects.exists(), "the killed handler's work rolled back"
    wait_until(lambda: timezone.now() >= delivery.next_attempt_at, 60, "the lease to end")
    # The killed batch held the event's one delivery (the mail handler's, waiting on the
    # INSERT): it comes due again when the lease ends.
    assert services.deliveries_relay() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("done", 2)
    with scope(tenant=cast.tenant_a):
        assert Counter(OutboundEmail.objects.values_list("key", flat=True)) == Counter(keys)
