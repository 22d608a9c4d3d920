"""Recovery from worker ``kill -9`` on each broker, and duplicates per 1,000 notifications.

Needs PostgreSQL (a database of its own) and the brokers to compare::

    make bench-worker-kill
    # or: DATABASE_URL=postgres://…/supportdesk_bench_kill \\
    #     .venv/bin/python -m benchmarks.bench_worker_kill amqp://guest:guest@127.0.0.1:5672// \\
    #     redis://127.0.0.1:6379/1

For each broker it writes 1,000 notice mails, starts two workers (prefork, two processes each,
the production broker settings), enqueues one send task per mail and, while they drain,
``kill -9``s a random worker every few seconds and starts a replacement at once (as compose's
``restart:`` does). An SMTP sink that takes 100 ms per message (a nearby relay) records every
delivery.

Printed per broker: the time from each kill to the last of the killed worker's in-flight sends
being accepted by the sink from another worker (median and worst), and the mails the sink got
twice, per 1,000. Each broker runs in a child process, because the settings (queue types,
transport options) are read from CELERY_BROKER_URL when Django starts. Wall-clock figures on
whatever machine runs this; no test asserts them.
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
SETTINGS = "tests.settings"  # production code paths; DATABASE_URL still chooses the database


def _child(broker_url: str) -> dict[str, Any]:
    """Run the measurement on ``broker_url``; this process's settings are that broker's."""
    import asyncio

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django_scopes import scope, scopes_disabled

    from sla.models import NoticeMail
    from sla.tasks import sla_notice_mail_send
    from supportdesk.models import Tenant, User
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

    class Sink:
        """Knows which mails are being delivered right now, and when each was accepted."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.in_flight: dict[Any, int] = {}
            self.accepted: list[tuple[float, int]] = []

        async def handle_RCPT(  # noqa: N802
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            with self.lock:
                self.in_flight[session] = int(address.split("@")[0].removeprefix("n"))
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            await asyncio.sleep(SINK_DELAY)
            with self.lock:
                mail_id = self.in_flight.pop(session)
                self.accepted.append((time.monotonic(), mail_id))
            return "250 2.0.0 OK"

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    with scopes_disabled():
        tenant, _ = Tenant.objects.get_or_create(slug="bench-kill", defaults={"name": "Bench"})
        user, _ = User.objects.get_or_create(username="bench-kill-lead")
    with scope(tenant=tenant):
        NoticeMail.objects.all().delete()
        mails = NoticeMail.objects.bulk_create(
            NoticeMail(tenant=tenant, recipient=user, to_email=f"n0@{n}.test", subject="SLA")
            for n in range(MAILS)
        )
        for mail in mails:
            mail.to_email = f"n{mail.pk}@bench.test"
        NoticeMail.objects.bulk_update(mails, ["to_email"])

    queue = f"bench-kill-{uuid.uuid4().hex}"
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

    workers = [start() for _ in range(WORKERS)]
    kills: list[tuple[float, set[int]]] = []
    rng = random.Random(13)  # noqa: S311 - which worker dies, not a secret
    try:
        for name, _process in workers:
            worker_ready(name)
        for mail in mails:
            sla_notice_mail_send.apply_async((tenant.pk, mail.pk), queue=queue)
        began = time.monotonic()
        while len(kills) < KILLS:
            time.sleep(KILL_EVERY)
            _name, victim = workers.pop(rng.randrange(len(workers)))
            with sink.lock:
                in_flight = set(sink.in_flight.values())
            kills.append((time.monotonic(), in_flight))
            worker_kill(victim)
            workers.append(start())
            worker_ready(workers[-1][0])  # the next victim is a worker that got to work
        with scope(tenant=tenant):
            unsent = NoticeMail.objects.filter(sent_at__isnull=True)
            # What is still unsent once Redis's visibility timeout (and a margin) has passed
            # after the last kill was lost by the broker; no later sweep brings it back.
            patience = float(str(options.get("visibility_timeout", 0))) + 120
            try:
                wait_until(lambda: not unsent.exists(), patience, "every mail to be sent")
            except AssertionError:
                pass
            lost = unsent.count()
    finally:
        for _name, worker in workers:
            worker_stop(worker)
        queue_delete(queue)
        controller.stop()

    recoveries = []
    for killed_at, in_flight in kills:
        done = [t for t, mail_id in sink.accepted if mail_id in in_flight and t > killed_at]
        if in_flight and len({m for t, m in sink.accepted if m in in_flight}) == len(in_flight):
            recoveries.append(max(done, default=killed_at) - killed_at)
    delivered = [mail_id for _, mail_id in sink.accepted]
    return {
        "broker": broker_kind(),
        "kills": len(kills),
        "kills_with_sends_in_flight": len(recoveries),
        "recovery_median_s": statistics.median(recoveries) if recoveries else None,
        "recovery_max_s": max(recoveries) if recoveries else None,
        "duplicates_per_1000": (len(delivered) - len(set(delivered))) * 1000 / MAILS,
        "lost": lost,
        "drain_s": max(t for t, _ in sink.accepted) - began,
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
        ("kill -> its sends done elsewhere, median", lambda r: _seconds(r["recovery_median_s"])),
        ("kill -> its sends done elsewhere, worst", lambda r: _seconds(r["recovery_max_s"])),
        (f"duplicates per 1,000 ({MAILS} mails)", lambda r: f"{r['duplicates_per_1000']:.1f}"),
        ("mails lost (never sent)", lambda r: str(r["lost"])),
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
