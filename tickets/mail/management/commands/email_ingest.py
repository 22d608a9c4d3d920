"""Feed one raw e-mail to a tenant, as a mail server's pipe or for trying things out.

    manage.py email_ingest softone message.eml
    postfix: "|/srv/supportdesk/.venv/bin/python /srv/supportdesk/manage.py email_ingest softone -"

The message is stored, then processed at once (not by the worker), exactly as a message
fetched over IMAP: the same de-duplication, threading, loop protection and auto-reply.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from supportdesk.models import Tenant
from tickets.mail.models import InboundStatus
from tickets.mail.services import email_ingest, inbound_retry


class Command(BaseCommand):
    help = "Store and process one raw e-mail (a file, or - for standard input) for a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug, e.g. softone")
        parser.add_argument("path", help="an .eml file, or - to read standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
        raw = self._read(options["path"])
        if not raw.strip():
            raise CommandError("The message is empty.")
        with scope(tenant=tenant):
            inbound, created = email_ingest(tenant=tenant, raw=raw)
            if created:
                # Stored either way: a failure is kept on the row and retried by the worker,
                # so the mail server must not bounce the message (exit status 0).
                inbound = inbound_retry(inbound=inbound)
        ticket = f" {inbound.ticket.reference}" if inbound.ticket is not None else ""
        state = inbound.get_outcome_display() if inbound.outcome else inbound.get_status_display()
        if inbound.status == InboundStatus.FAILED:
            state = f"{state} (stored; it will be retried): {inbound.note}"
        prefix = "" if created else "Already received before. "
        self.stdout.write(f"{prefix}{state}{ticket}")

    def _read(self, path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
