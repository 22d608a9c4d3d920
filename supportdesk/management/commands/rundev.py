"""Web server, Celery worker and beat together; Ctrl-C stops all three.

A child that dies (the worker after a broker outage, say) is started again after a pause
that doubles with each quick failure (1, 2, 4 … 30 s) and is logged; one that ran for a
minute before dying starts again after 1 s.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from supportdesk.celery import WORKER_FLAGS

logger = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_failures: int = 0


class Supervisor:
    """Keep every child running; restart one that exits, with backoff, and log it."""

    def __init__(
        self,
        children: list[Child],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        stable_after: float = 60.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.children = children
        self.sleep, self.clock = sleep, clock
        self.stable_after, self.max_backoff = stable_after, max_backoff

    def start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, env=os.environ.copy())  # noqa: S603
        child.started_at = self.clock()

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def poll_once(self) -> None:
        """Restart each child that has exited since the last call."""
        for child in self.children:
            code = child.process.poll() if child.process is not None else None
            if code is None:
                continue
            ran = self.clock() - child.started_at
            child.quick_failures = child.quick_failures + 1 if ran < self.stable_after else 1
            delay = min(self.max_backoff, 2.0 ** (child.quick_failures - 1))
            logger.warning(
                "%s exited with code %s after %.0f s; starting it again in %.0f s",
                child.name,
                code,
                ran,
                delay,
            )
            self.sleep(delay)
            self.start(child)

    def stop_all(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def supervise(supervisor: Supervisor, *, tick: float = 0.5) -> None:
    """Start the children and keep them running until Ctrl-C or SIGTERM, then stop them all.

    SIGTERM (``kill``, a process manager, an IDE's stop button) is handled like Ctrl-C: by
    default Python would die at once and leave the worker and beat running, orphaned.
    """
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        supervisor.start_all()
        while True:
            supervisor.poll_once()
            time.sleep(tick)
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop_all()
        signal.signal(signal.SIGTERM, previous)


def worker_command(python: str) -> list[str]:
    """The Celery worker `make run` starts (benchmarks/bench_embedded_broker.py does too)."""
    celery = [python, "-m", "celery", "-A", "supportdesk"]
    return [*celery, "worker", "-l", "info", "-c", "2", *WORKER_FLAGS]


def beat_command(python: str) -> list[str]:
    return [python, "-m", "celery", "-A", "supportdesk", "beat", "-l", "info"]


class Command(BaseCommand):
    help = "Run the development web server, a Celery worker and Celery beat together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=f"0.0.0.0:{settings.SITE_PORT}")  # noqa: S104

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        supervisor = Supervisor(
            [
                Child("web", [python, "manage.py", "runserver", options["addr"]]),
                Child("worker", worker_command(python)),
                Child("beat", beat_command(python)),
            ]
        )
        self.stdout.write(f"Open http://synerity.localhost:{settings.SITE_PORT}/ (Ctrl-C stops)")
        supervise(supervisor)
