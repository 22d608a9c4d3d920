"""Filing tickets in parallel on PostgreSQL: the portal API at 8 and 32 connections.

Run against its own PostgreSQL database and Redis db (``make bench-filing`` does)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench_filing
    export REDIS_URL=redis://127.0.0.1:6379/8
    .venv/bin/python -m benchmarks.bench_filing

One tenant, one customer contact on a contract, gunicorn (three sync workers) on a loopback
port; every connection POSTs /api/v1/portal/tickets/ until a count or a time is reached. The
baseline is the previous lock shape in the same run: the tenant's counter row locked at the
start of the filing transaction and held to its commit. Afterwards the numbers are checked
gap-free. Wall-clock figures; no test asserts them.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from benchmarks.http_load import load, load_average, served  # noqa: E402
from contracts.models import Contact  # noqa: E402
from supportdesk.models import ApiToken, Tenant, User  # noqa: E402
from tests.conftest import build_cast  # noqa: E402
from tests.tickets.conftest import build_desk  # noqa: E402
from tickets.choices import Channel  # noqa: E402
from tickets.models import Ticket, TicketCounter  # noqa: E402
from tickets.services import ticket_create  # noqa: E402

SECONDS = 20.0
MAX_REQUESTS = 3000


def tenant_and_token() -> tuple[Tenant, str]:
    with scopes_disabled():
        tenant = Tenant.objects.filter(slug="tenant-a").first()
    if tenant is None:
        cast = build_cast()
        build_desk(cast)
        tenant = cast.tenant_a
    with scope(tenant=tenant):
        _token, key = ApiToken.issue(
            tenant=tenant, user=User.objects.get(username="a-customer"), name="bench"
        )
    return tenant, key


def lock_counter_first() -> Callable[[], None]:
    """Put the old lock shape back: the counter row locked just before the ticket is
    inserted (where ``_next_number`` used to lock it), so it is held to the commit. Returns
    the undo."""
    manager: Any = Ticket.objects
    create = manager.create

    def locked_create(**fields: Any) -> Ticket:
        TicketCounter.objects.select_for_update().filter(tenant=fields["tenant"]).first()
        return create(**fields)  # type: ignore[no-any-return]

    manager.create = locked_create
    return lambda: setattr(manager, "create", create)


def lock_held(tenant: Tenant, runs: int = 30) -> tuple[float, int]:
    """Median ms from the first statement on the counter row to the commit, and the number of
    statements in between, of ``runs`` filings in this process (one connection)."""
    marks: list[float] = []
    ends: list[float] = []
    counted: list[int] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "tickets_ticketcounter" in sql and not marks[-1]:
            marks[-1] = time.perf_counter()
            # Registered before the filing's own handlers: runs first, right after COMMIT.
            transaction.on_commit(lambda: ends.append(time.perf_counter()))
        if marks[-1]:
            counted[-1] += 1
        return execute(sql, params, many, context)

    held = []
    with scope(tenant=tenant):
        contact = Contact.objects.get(email="carla@orga.example.test")
        for n in range(runs):
            marks.append(0.0)
            counted.append(0)
            with connection.execute_wrapper(watch):
                ticket_create(
                    tenant=tenant,
                    requester=contact,
                    subject=f"Lock {n}",
                    description="Since the update.",
                    channel=Channel.API,
                )
            held.append((ends[-1] - marks[-1]) * 1000)
    return statistics.median(held), counted[-1]


def gap_free(tenant: Tenant) -> str:
    with scope(tenant=tenant):
        figures = Ticket.objects.aggregate(low=Min("number"), high=Max("number"))
        count = Ticket.objects.count()
    low, high = figures["low"], figures["high"]
    ok = count == 0 or high - low + 1 == count
    if not ok:
        raise SystemExit(f"numbers have gaps: {count} tickets numbered {low}..{high}")
    return f"{count:,} tickets numbered {low}..{high}, no gaps"


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("run on PostgreSQL (DATABASE_URL)")
    print(load_average())
    tenant, key = tenant_and_token()
    headers = {
        "Host": "127.0.0.1",
        "Authorization": f"Token {key}",
        "Content-Type": "application/json",
    }

    def request(index: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
        body = {"subject": f"Export fails {index}-{n}", "description": "Since the update."}
        return "POST", "/api/v1/portal/tickets/", json.dumps(body).encode(), headers

    print("\nThe tenant's counter row, locked per filing (in-process, one connection)")
    for label, old_shape in (
        ("number taken last", False),
        ("baseline: counter locked for the whole filing", True),
    ):
        undo = lock_counter_first() if old_shape else (lambda: None)
        ms, statements = lock_held(tenant)
        undo()
        print(f"  {label:<46} {ms:8.2f} ms held, {statements} statements under the lock")

    print("\nPOST /api/v1/portal/tickets/, one tenant")
    for label, app, env in (
        ("number taken last", "supportdesk.wsgi:application", {}),
        (
            "baseline: counter locked for the whole filing",
            "benchmarks.baseline_wsgi:application",
            {"BENCH_BASELINE": "filing"},
        ),
    ):
        with served(app, **env) as port:
            load(port, request, connections=8, max_requests=24, max_seconds=10, ok=(201,))
            for connections in (8, 32):
                result = load(
                    port,
                    request,
                    connections=connections,
                    max_requests=MAX_REQUESTS,
                    max_seconds=SECONDS,
                    ok=(201,),
                )
                print(result.line(f"{label}, {connections} connections"))
        print(f"  ({load_average()})")
    print(f"  {gap_free(tenant)}")


if __name__ == "__main__":
    main()
