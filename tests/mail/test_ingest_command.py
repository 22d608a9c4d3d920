from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from tests.conftest import Cast
from tests.tickets.conftest import build_desk
from tickets.models import Ticket

MESSAGE = (
    "From: Carla <carla@orga.example.test>\n"
    "To: support@tenant-a.localhost\n"
    "Subject: Invoices do not print\n"
    "Message-ID: <pipe-1@orga.example.test>\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Since this morning no invoice prints.\n"
)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("email_ingest", *args, stdout=out)
    return out.getvalue().strip()


def test_a_piped_message_becomes_a_ticket_once(cast: Cast, tmp_path: Path) -> None:
    build_desk(cast)
    eml = tmp_path / "message.eml"
    eml.write_text(MESSAGE, encoding="utf-8")
    assert _run("tenant-a", str(eml)) == "New ticket TA-1001"
    assert _run("tenant-a", str(eml)) == "Already received before. New ticket TA-1001"
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel, ticket.requester) == (
        "Invoices do not print",
        "email",
        cast.customer_contact,
    )


def test_an_unknown_tenant_or_file_is_a_clear_error(cast: Cast, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        _run("nope", str(tmp_path / "x.eml"))
    with pytest.raises(CommandError, match="Cannot read"):
        _run("tenant-a", str(tmp_path / "missing.eml"))
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        _run("tenant-a", str(empty))
