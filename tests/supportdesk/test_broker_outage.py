"""The broker goes away while a worker is sending; the worker stays up and every notice is
sent, once. The broker is a private one of the configured kind (a ``redis-server`` or a
``rabbitmq-server`` node on its own port), stopped as ``docker stop`` does and restarted on
its own data; the shared ones are never touched. Skipped on the filesystem broker or SQLite,
or when no private broker can start."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scope

from notifications.notices import notice_queue, notices_batch
from supportdesk.celery import app as celery_app
from supportdesk.models import Tenant, User
from supportdesk.notices import NoticeKind
from tests.brokers import (
    BrokerUnavailable,
    PrivateBroker,
    PrivateRabbitMQ,
    PrivateRedis,
    free_port,
)
from tests.celery_workers import (
    broker_kind,
    database_url,
    real_worker_test,
    wait_until,
    worker_start,
    worker_stop,
)
from tickets.mail.models import OutboundEmail, OutboundStatus
from tickets.mail.services.outbox import outbound_pending
from tickets.mail.tasks import QUEUED_GRACE, outbound_send

pytestmark = real_worker_test

OUTAGES = 2
OUTAGE_SECONDS = 5
MAILS_PER_ROUND = 4
REDIS_VISIBILITY = float(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 0)))


class SlowSink:
    """An SMTP server that takes a second per message, so sends are in flight at the outage."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(1)
        self.messages.append(envelope.content)
        return "250 2.0.0 OK"


@pytest.fixture
def sink() -> Iterator[tuple[SlowSink, int]]:
    from aiosmtpd.controller import Controller

    handler, port = SlowSink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    kind = broker_kind()
    try:
        broker: PrivateBroker = (PrivateRabbitMQ if kind == "amqp" else PrivateRedis)(tmp_path)
        broker.start()
    except BrokerUnavailable as exc:
        pytest.skip(f"the outage needs a private {kind} broker to stop, and none starts: {exc}")
    yield broker
    broker.stop()


def _sent(handler: SlowSink, count: int) -> Callable[[], bool]:
    return lambda: len(handler.messages) >= count


def _enqueue(broker: PrivateBroker, queue: str, tenant: Tenant, outbound_ids: list[int]) -> None:
    with celery_app.connection_for_write(broker.url) as conn, conn.Producer() as producer:
        for outbound_id in outbound_ids:
            outbound_send.apply_async((tenant.pk, outbound_id), queue=queue, producer=producer)


def _notice_mails(tenant: Tenant, count: int) -> list[OutboundEmail]:
    """``count`` staff notices to as many people, batched: one outbox row per person."""
    with scope(tenant=tenant):
        for n in range(count):
            user = User.objects.create_user(username=f"lead{n}", email=f"lead{n}@example.test")
            notice_queue(
                tenant=tenant,
                key=f"outage-{n}",
                kind=NoticeKind.WARNING,
                recipient=user,
                ticket=None,
                text=f"SLA {n}",
            )
        mails = notices_batch(tenant=tenant)
        return [mail.outbound for mail in mails if mail.outbound is not None]


def test_a_worker_rides_out_broker_outages_and_sends_every_notice_once(
    sink: tuple[SlowSink, int], private_broker: PrivateBroker
) -> None:
    handler, port = sink
    tenant = Tenant.objects.create(slug="outage-test", name="Outage test")
    mails = _notice_mails(tenant, OUTAGES * MAILS_PER_ROUND)
    assert len(mails) == OUTAGES * MAILS_PER_ROUND
    queue = f"outage-test-{uuid.uuid4().hex}"
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.sla.worker_settings",
        "DATABASE_URL": database_url(),
        "NOTICE_TEST_SMTP_PORT": str(port),
        "CELERY_BROKER_URL": private_broker.url,
    }
    log = (private_broker.folder / "worker.log").open("wb")
    worker = worker_start(queue, name="outage", env=env, concurrency=2, log=log)
    try:
        for round_ in range(OUTAGES):
            batch = mails[round_ * MAILS_PER_ROUND : (round_ + 1) * MAILS_PER_ROUND]
            _enqueue(private_broker, queue, tenant, [mail.pk for mail in batch])
            wait_until(_sent(handler, len(handler.messages) + 1), 120, "a send to finish")
            private_broker.stop()  # two more sends are in flight, unacknowledged
            time.sleep(OUTAGE_SECONDS)
            private_broker.start()
        with scope(tenant=tenant):
            unsent = OutboundEmail.objects.filter(pk__in=[mail.pk for mail in mails]).exclude(
                status=OutboundStatus.SENT
            )
            try:
                wait_until(
                    lambda: worker.poll() is not None or not unsent.exists(),
                    # Redis hands back what the worker held when the connection dropped only
                    # after the visibility timeout.
                    REDIS_VISIBILITY + 60 if broker_kind() == "redis" else 120,
                    "every notice to be sent after the outages",
                )
            except AssertionError:
                pass  # said precisely below
            lost = list(unsent.values_list("pk", flat=True))
            if lost and broker_kind() == "redis" and worker.poll() is None:
                # kombu's Redis transport takes a message off the list (BRPOP) and records it
                # as unacknowledged in a second command; a message fetched as Redis dies is in
                # neither place. The outbox's sweep hands such a mail out again once it has
                # waited QUEUED_GRACE: run it as beat would then (RabbitMQ loses none).
                later = timezone.now() + QUEUED_GRACE + dt.timedelta(seconds=1)
                swept = outbound_pending(now=later, queued_grace=QUEUED_GRACE)
                assert set(lost) <= set(swept), (lost, swept)
                _enqueue(private_broker, queue, tenant, lost)
                try:
                    wait_until(lambda: not unsent.exists(), 120, "the swept mails to be sent")
                except AssertionError:
                    pass  # said precisely below
                lost = list(unsent.values_list("pk", flat=True))
        assert worker.poll() is None, (
            "the worker exited after a broker outage: "
            + (private_broker.folder / "worker.log").read_text(errors="replace")[-3000:]
        )
    finally:
        worker_stop(worker)
    ids = Counter(message_from_bytes(raw)["Message-ID"] for raw in handler.messages)
    assert max(ids.values()) == 1, ids
    assert not lost
    assert set(ids) == {f"<{mail.message_id}>" for mail in mails}
