"""Web server, Celery worker and beat together; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from supportdesk.celery import WORKER_FLAGS


class Command(BaseCommand):
    help = "Run the development web server, a Celery worker and Celery beat together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=f"0.0.0.0:{settings.SITE_PORT}")  # noqa: S104

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        commands = [
            [python, "manage.py", "runserver", options["addr"]],
            [python, "-m", "celery", "-A", "supportdesk", "worker", "-linfo", "-c2", *WORKER_FLAGS],
            [python, "-m", "celery", "-A", "supportdesk", "beat", "-l", "info"],
        ]
        children = [subprocess.Popen(c, env=os.environ.copy()) for c in commands]  # noqa: S603
        self.stdout.write(f"Open http://synerity.localhost:{settings.SITE_PORT}/ (Ctrl-C stops)")
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
