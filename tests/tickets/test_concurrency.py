"""Parallel writers on PostgreSQL: row locks make every change land, numbers stay gap-free."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django_scopes import scope

from tests.conftest import Cast, build_cast
from tickets.choices import Channel
from tickets.links.services import ticket_link, ticket_merge
from tickets.models import EventKind, LinkKind, Ticket, TicketEvent, TicketLink
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


def _pair(cast: Cast) -> tuple[Ticket, Ticket]:
    with scope(tenant=cast.tenant_a):
        return tuple(  # type: ignore[return-value]
            ticket_create(
                tenant=cast.tenant_a,
                requester=cast.customer_contact,
                subject=subject,
                description="",
                channel=Channel.EMAIL,
                enforce_entitlement=False,
            )
            for subject in ("First", "Second")
        )


def test_opposite_merges_of_one_pair_in_parallel_leave_exactly_one_merge() -> None:
    """A into B and B into A at once: both lock the pair in pk order, so the second waits,
    sees the first merge and is refused as circular; no deadlock, nothing half-merged."""
    cast = build_cast()
    first, second = _pair(cast)
    pairs = [(first, second), (second, first)] * (THREADS // 2)
    errors = _in_parallel(
        cast, lambda i: ticket_merge(ticket=pairs[i][0], into=pairs[i][1], actor=cast.agent)
    )
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, ValidationError) for e in errors), errors
    with scope(tenant=cast.tenant_a):
        merged = list(Ticket.objects.filter(merged_into__isnull=False))
        assert len(merged) == 1
        assert TicketEvent.objects.filter(kind=EventKind.MERGED).count() == 1


def test_the_same_link_written_in_parallel_is_stored_once() -> None:
    cast = build_cast()
    first, second = _pair(cast)
    pairs = [(first, second), (second, first)] * (THREADS // 2)
    errors = _in_parallel(
        cast,
        lambda i: ticket_link(
            ticket=pairs[i][0], other=pairs[i][1], kind=LinkKind.RELATED, actor=cast.agent
        ),
    )
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, ValidationError) for e in errors), errors
    with scope(tenant=cast.tenant_a):
        assert TicketLink.objects.count() == 1
        assert TicketEvent.objects.filter(kind=EventKind.LINKED).count() == 2
