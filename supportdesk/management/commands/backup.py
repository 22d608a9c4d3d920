"""Back up the embedded SQLite database and the media files into one archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.backup import backup_create


class Command(BaseCommand):
    help = "Write a consistent .tar.gz of the SQLite database and media (safe while running)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", type=Path, default=Path(settings.DATA_DIR) / "backups", help="folder"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            archive = backup_create(destination=options["to"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(archive))
