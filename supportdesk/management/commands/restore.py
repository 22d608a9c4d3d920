"""Restore the embedded SQLite database and the media files from a backup archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.backup import backup_restore


class Command(BaseCommand):
    help = "Replace the database and media with a backup's. Stop web, worker and beat first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--yes", action="store_true", help="confirm: the current data is replaced"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError("This replaces the current data; run again with --yes.")
        if not options["archive"].is_file():
            raise CommandError(f"No such file: {options['archive']}")
        try:
            kept = backup_restore(archive=options["archive"])
        except (ImproperlyConfigured, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {options['archive']}")
        if kept is not None:
            self.stdout.write(f"The media files before the restore are kept in {kept}")
