"""Encrypt the stored secrets again with the first FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from supportdesk.services import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret stored in the database (mailbox passwords) with the first "
        "key of FIELD_ENCRYPTION_KEY, so older keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = secrets_rotate()
        self.stdout.write(f"Re-encrypted {count} secret(s) with the first key.")
