"""Exactly one mail although the worker sending it is killed mid-send: a real Celery worker
on the Redis broker, a real SMTP server, PostgreSQL. Skipped without REDIS_URL/PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scope

from sla.models import NoticeMail
from sla.tasks import sla_notice_mail_send
from supportdesk.celery import app as celery_app
from supportdesk.models import Tenant, User

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
        reason="needs a real broker and a shared database: set REDIS_URL and a postgres:// "
        "DATABASE_URL",
    ),
]


class Recorder:
    """An SMTP server's handler that stalls the first delivery until told to refuse it."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._first = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self._first:
            self._first = False
            self.stalled.set()
            # The sender is killed while we hold its DATA; it never hears "250", so the
            # message is not accepted.
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 sender went away"
        self.messages.append(envelope.content)
        return "250 2.0.0 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    recorder.release.set()
    controller.stop()


def _worker(queue: str, port: int) -> subprocess.Popen[bytes]:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sla.worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "NOTICE_TEST_SMTP_PORT": str(port),
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", "--pool=solo", "-Q",
         queue, "-l", "warning", "--without-mingle", "--without-gossip", "--without-heartbeat"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _wait(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_send_still_leads_to_exactly_one_mail(
    smtp: tuple[Recorder, int],
) -> None:
    recorder, port = smtp
    tenant = Tenant.objects.create(slug="worker-test", name="Worker test")
    user = User.objects.create_user(username="lead", email="lead@example.test")
    with scope(tenant=tenant):
        mail = NoticeMail.objects.create(
            tenant=tenant, recipient=user, to_email=user.email, subject="SLA", body="Due soon"
        )
    queue = f"notice-test-{uuid.uuid4().hex}"
    celery_app.conf.task_always_eager = False
    first = _worker(queue, port)
    second = None
    try:
        sla_notice_mail_send.apply_async((tenant.pk, mail.pk), queue=queue)
        _wait(recorder.stalled.is_set, 60, "the first worker to start sending")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        recorder.release.set()
        with scope(tenant=tenant):
            mail.refresh_from_db()
            assert mail.sent_at is None  # its transaction died with it
            second = _worker(queue, port)
            _wait(lambda: NoticeMail.objects.filter(pk=mail.pk, sent_at__isnull=False).exists(),
                  90, "the redelivered task to send the mail")  # fmt: skip
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)
    assert len(recorder.messages) == 1
    sent = message_from_bytes(recorder.messages[0])
    assert sent["Message-ID"] == f"<notice-{mail.pk}@worker-test.supportdesk>"
    assert sent["Auto-Submitted"] == "auto-generated"
    with scope(tenant=tenant):
        mail.refresh_from_db()
    # The killed attempt's counter rolled back with its transaction: one recorded attempt.
    assert mail.attempts == 1
