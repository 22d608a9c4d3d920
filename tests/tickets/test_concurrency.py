"""Parallel writers on PostgreSQL: row locks make every change land, numbers stay gap-free."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django_scopes import scope

from tests.conftest import Cast, build_cast
from tickets.choices import Channel
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import ticket_create, ticket_reply

from .conftest import build_desk

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs real row locks and parallel connections: run with DATABASE_URL=postgres://",
    ),
]

THREADS = 20


def _in_parallel(cast: Cast, work: Callable[[int], Any]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> None:
        try:
            barrier.wait()
            with scope(tenant=cast.tenant_a):
                work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_twenty_parallel_replies_to_one_ticket_all_land() -> None:
    cast = build_cast()
    build_desk(cast)
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Busy",
            description="",
            channel=Channel.EMAIL,
        )
    errors = _in_parallel(
        cast,
        lambda i: ticket_reply(
            ticket=ticket, body=f"note {i}", public=False, channel=Channel.PORTAL, author=cast.agent
        ),
    )
    assert not errors, errors
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
        notes = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.NOTE_ADDED).count()
        bodies = set(ticket.messages.values_list("body", flat=True))
    assert notes == THREADS
    assert bodies >= {f"note {i}" for i in range(THREADS)}
    assert ticket.version == 1 + THREADS


def test_twenty_parallel_creations_get_consecutive_numbers() -> None:
    cast = build_cast()
    build_desk(cast)
    errors = _in_parallel(
        cast,
        lambda i: ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject=f"Parallel {i}",
            description="",
            channel=Channel.EMAIL,
        ),
    )
    assert not errors, errors
    with scope(tenant=cast.tenant_a):
        numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1001, 1001 + THREADS))
