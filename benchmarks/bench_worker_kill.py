"""Recovery from worker ``kill -9`` on each broker, and duplicates per 1,000 outgoing mails.

Needs PostgreSQL (a database of its own) and the brokers to compare::

    make bench-worker-kill
    # or: DATABASE_URL=postgres://…/supportdesk_bench_kill \\
    #     .venv/bin/python -m benchmarks.bench_worker_kill amqp://guest:guest@127.0.0.1:5672// \\
    #     redis://127.0.0.1:6379/1

For each broker it queues 1,000 outbox mails (``OutboundEmail``, sent by ``mail.outbound_send``:
claim, SMTP, record), starts two workers (prefork, two processes each, the production broker
settings), enqueues one send task per mail and, while they drain, ``kill -9``s a random worker
every few seconds and starts a replacement at once (as compose's ``restart:`` does). The sweep
``mail.requeue_stuck`` runs every 30 s, as beat runs it in production. An SMTP sink that takes
100 ms per message (a nearby relay) records every delivery with its Message-ID.

Printed per broker: the time from each kill to the last of the mails that were mid-send at
that moment being recorded ``sent`` (median and worst), the Message-IDs the sink got twice per
1,000 mails, and the mails never delivered. Each broker runs in a child process, because the
settings (queue types, transport options) are read from CELERY_BROKER_URL when Django starts.
Wall-clock figures on whatever machine runs this; no test asserts them.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

MAILS = 1000
WORKERS = 2
KILL_EVERY = 3.0
KILLS = 8
SINK_DELAY = 0.1
SWEEP_EVERY = 30.0  # beat's cadence of mail.requeue_stuck (supportdesk/celery.py)
PATIENCE = 300.0
"""Seconds after the last kill for every mail to be recorded sent: the claim grace (55 s),
a sweep (30 s) and Redis's visibility timeout (100 s), with a margin."""
SETTINGS = "tests.settings"  # production code paths; DATABASE_URL still chooses the database


def _child(broker_url: str) -> dict[str, Any]:
    """Run the measurement on ``broker_url``; this process's settings are that broker's."""
    import asyncio
    from datetime import UTC, datetime
    from email.parser import BytesHeaderParser

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.db import connection
    from django_scopes import scope, scopes_disabled

    from supportdesk.celery import app as celery_app
    from supportdesk.models import Tenant
    from tests.brokers import free_port
    from tests.celery_workers import (
        broker_kind,
        database_url,
        queue_delete,
        wait_until,
        worker_kill,
        worker_ready,
        worker_start,
        worker_stop,
    )
    from tickets.mail import tasks
    from tickets.mail.models import OutboundEmail, OutboundKind, OutboundStatus

    queue = f"bench-kill-{uuid.uuid4().hex}"
    # The sweep below enqueues with .delay(), as in production; here onto the workers' queue.
    celery_app.conf.task_routes = {"mail.*": {"queue": queue}}

    class Sink:
        """Knows which mails are being delivered right now, and every Message-ID accepted."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.in_flight: dict[Any, int] = {}
            self.accepted: list[tuple[float, int, str]] = []

        async def handle_RCPT(  # noqa: N802
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            with self.lock:
                self.in_flight[session] = int(address.split("@")[0].removeprefix("n"))
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            await asyncio.sleep(SINK_DELAY)
            headers = BytesHeaderParser().parsebytes(envelope.original_content or b"")
            with self.lock:
                mail_id = self.in_flight.pop(session)
                self.accepted.append((time.monotonic(), mail_id, str(headers["Message-ID"])))
            return "250 2.0.0 OK"

    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    with scopes_disabled():
        tenant, _ = Tenant.objects.get_or_create(slug="bench-kill", defaults={"name": "Bench"})
    with scope(tenant=tenant):
        OutboundEmail.objects.all().delete()
        run = uuid.uuid4().hex[:8]
        mails = OutboundEmail.objects.bulk_create(
            OutboundEmail(
                tenant=tenant,
                key=f"bench:{run}:{n}",
                message_id=OutboundEmail.message_id_for(
                    tenant_id=tenant.pk, key=f"bench:{run}:{n}", domain="bench.test"
                ),
                kind=OutboundKind.LOGIN_LINK,
                to_address=f"n{n}@bench.test",
                from_address="support@bench.test",
                subject="Bench",
                body="Bench\n",
            )
            for n in range(MAILS)
        )
        for mail in mails:
            mail.to_address = f"n{mail.pk}@bench.test"
        OutboundEmail.objects.bulk_update(mails, ["to_address"])
    expected = {f"<{m.message_id}>" for m in mails}

    env = {
        "DJANGO_SETTINGS_MODULE": "tests.sla.worker_settings",
        "DATABASE_URL": database_url(),
        "NOTICE_TEST_SMTP_PORT": str(port),
    }
    logs = Path(tempfile.mkdtemp(prefix="bench-kill-"))
    started = 0

    def start() -> tuple[str, subprocess.Popen[bytes]]:
        nonlocal started
        started += 1
        name = f"bench{started}"
        log = (logs / f"{name}.log").open("wb")
        return name, worker_start(queue, name=name, env=env, concurrency=2, log=log)

    stop_sweeping = threading.Event()

    def beat() -> None:
        """``mail.requeue_stuck`` on its production cadence, in its own thread."""
        while not stop_sweeping.wait(SWEEP_EVERY):
            tasks.mail_requeue_stuck()
        connection.close()

    workers = [start() for _ in range(WORKERS)]
    kills: list[tuple[float, float, set[int]]] = []
    rng = random.Random(13)  # noqa: S311 - which worker dies, not a secret
    sweeper = threading.Thread(target=beat, daemon=True)
    try:
        for name, _process in workers:
            worker_ready(name)
        for mail in mails:
            tasks.outbound_send.delay(tenant.pk, mail.pk)
        began = time.monotonic()
        sweeper.start()
        while len(kills) < KILLS:
            time.sleep(KILL_EVERY)
            _name, victim = workers.pop(rng.randrange(len(workers)))
            with sink.lock:
                in_flight = set(sink.in_flight.values())
            kills.append((time.monotonic(), time.time(), in_flight))
            worker_kill(victim)
            workers.append(start())
            worker_ready(workers[-1][0])  # the next victim is a worker that got to work
        with scope(tenant=tenant):
            unsent = OutboundEmail.objects.exclude(status=OutboundStatus.SENT)
            try:
                wait_until(lambda: not unsent.exists(), PATIENCE, "every mail to be sent")
            except AssertionError:
                pass
            sent_at = dict(OutboundEmail.objects.values_list("pk", "sent_at"))
            left = dict(unsent.values_list("pk", "status"))
    finally:
        stop_sweeping.set()
        for _name, worker in workers:
            worker_stop(worker)
        queue_delete(queue)
        controller.stop()

    recoveries = []
    for _monotonic, killed_at, in_flight in kills:
        done = [sent_at.get(pk) for pk in in_flight]
        if in_flight and all(done):
            last = max(d.timestamp() for d in done if d is not None)
            recoveries.append(max(0.0, last - killed_at))
    delivered = [message_id for _, _, message_id in sink.accepted]
    return {
        "broker": broker_kind(),
        "kills": len(kills),
        "kills_with_sends_in_flight": len(recoveries),
        "recovery_median_s": statistics.median(recoveries) if recoveries else None,
        "recovery_max_s": max(recoveries) if recoveries else None,
        "duplicates_per_1000": (len(delivered) - len(set(delivered))) * 1000 / MAILS,
        "lost": len(expected - set(delivered)),
        "not_recorded_sent": len(left),
        "drain_s": max(t for t, _, _ in sink.accepted) - began,
        "at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
    }


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def main(broker_urls: list[str]) -> None:
    results = []
    for url in broker_urls:
        print(f"measuring {url.split('@')[-1]} …", flush=True)
        child = subprocess.run(  # noqa: S603 - this module, our interpreter
            [sys.executable, "-m", "benchmarks.bench_worker_kill", "--child", url],
            env={**os.environ, "CELERY_BROKER_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS},
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the run on {url} failed")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    rows = [
        ("kill -9s (a replacement started at once)", lambda r: str(r["kills"])),
        ("  … with sends in flight", lambda r: str(r["kills_with_sends_in_flight"])),
        (
            "kill -> mid-send mails sent, median",
            lambda r: _seconds(r["recovery_median_s"]),
        ),
        ("kill -> mid-send mails sent, worst", lambda r: _seconds(r["recovery_max_s"])),
        (
            f"Message-IDs twice, per 1,000 of {MAILS}",
            lambda r: f"{r['duplicates_per_1000']:.1f}",
        ),
        ("mails lost (never delivered)", lambda r: str(r["lost"])),
        ("rows not recorded sent", lambda r: str(r["not_recorded_sent"])),
        ("last mail accepted after", lambda r: _seconds(r["drain_s"])),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\n{'':{width}}  " + "  ".join(f"{r['broker']:>10}" for r in results))
    for label, cell in rows:
        print(f"{label:{width}}  " + "  ".join(f"{cell(r):>10}" for r in results))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_child(sys.argv[2])))
    else:
        main(sys.argv[1:] or ["amqp://guest:guest@127.0.0.1:5672//", "redis://127.0.0.1:6379/1"])
