"""Real Celery workers for the fault tests and the worker-kill benchmark.

A worker is a separate ``celery worker`` process in its own session (so ``kill -9`` of its
group takes its pool children too), consuming one private queue, on the broker and database
the settings choose.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO

import pytest
from django.conf import settings
from django.db import connection

from supportdesk.celery import WORKER_FLAGS
from supportdesk.celery import app as celery_app


def broker_kind() -> str:
    """``amqp``, ``redis`` or ``filesystem``: the kind of broker the settings name."""
    scheme = settings.CELERY_BROKER_URL.partition("://")[0]
    if scheme in ("amqp", "amqps", "pyamqp"):
        return "amqp"
    return "filesystem" if scheme == "filesystem" else "redis"


real_worker_test = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        broker_kind() == "filesystem" or connection.vendor != "postgresql",
        reason="needs a real broker and a shared database: set REDIS_URL or an amqp:// "
        "CELERY_BROKER_URL, and a postgres:// DATABASE_URL",
    ),
]
"""``pytestmark`` of tests with real workers, which share the test's database and broker."""


def database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def worker_start(
    queue: str,
    *,
    name: str,
    env: dict[str, str],
    concurrency: int = 1,
    log: IO[bytes] | int = subprocess.DEVNULL,
    flags: Sequence[str] = WORKER_FLAGS,
    loglevel: str = "warning",
) -> subprocess.Popen[bytes]:
    """Start the worker ``name`` on ``queue`` with production's ``flags``; ``env`` adds to
    this process's environment."""
    pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"-c{concurrency}"]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", *pool, "-Q", queue,
         "-n", f"{name}@%h", "-l", loglevel, *flags],
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )  # fmt: skip


def worker_ready(name: str, seconds: float = 60) -> None:
    """Wait until the worker answers a ping, so it is consuming its queue."""
    node = f"{name}@{socket.gethostname()}"
    wait_until(
        lambda: bool(celery_app.control.ping([node], timeout=0.5)), seconds, f"{node} to start"
    )


def worker_kill(process: subprocess.Popen[bytes]) -> None:
    """``kill -9`` the worker and its pool children, as the OOM killer or a crash would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def worker_stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            worker_kill(process)


def queue_delete(queue: str) -> None:
    """Remove a private queue: RabbitMQ keeps durable queues, Redis drops empty lists."""
    if broker_kind() != "amqp":
        return
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_delete(queue)


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``check`` until true; the monotonic time it became true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
