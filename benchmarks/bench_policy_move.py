"""Open tickets moving to another SLA policy after a plan change: the bulk path beside the
one-by-one move it replaced, in the same run.

Needs its own PostgreSQL database, emptied and filled on each run (``make bench-policy-move``)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench_move
    .venv/bin/python -m benchmarks.bench_policy_move [tickets]

Files ``tickets`` (default 2,000) open tickets of one organisation, a fifth of them answered
and a fifth pending, then moves them all from the test desk's policy to a faster one, each
path inside a transaction rolled back afterwards so both start from the same rows. Prints
wall-clock time and queries per path, and checks both end with the same clocks. No test
asserts the times.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_scopes import scope  # noqa: E402

from benchmarks.http_load import load_average  # noqa: E402
from contracts.models import SupportPlan  # noqa: E402
from contracts.reasons import reasons_text  # noqa: E402
from contracts.services import entitlement_check  # noqa: E402
from sla.models import Clock, Metric, SLAPolicy, SLATarget, TargetUnit  # noqa: E402
from tests.conftest import build_cast  # noqa: E402
from tests.tickets.conftest import at, build_desk  # noqa: E402
from tickets.choices import Channel, Status  # noqa: E402
from tickets.models import Ticket  # noqa: E402
from tickets.services import (  # noqa: E402
    ticket_change_sla_policy,
    ticket_change_status,
    ticket_create,
    ticket_reply,
    tickets_sla_policy_recompute,
)

MOVE_AT = at(2026, 3, 6, 11, 0)


def one_by_one() -> int:
    """The previous path: the entitlement check and ``ticket_change_sla_policy`` per ticket."""
    moved = 0
    for ticket in Ticket.objects.active().select_related("requester").order_by("pk"):
        entitlement = entitlement_check(
            contact=ticket.requester, channel=ticket.channel, category=ticket.category, at=MOVE_AT
        )
        if (entitlement.sla_policy.pk if entitlement.sla_policy else None) != ticket.sla_policy_id:
            ticket_change_sla_policy(
                ticket=ticket, policy=entitlement.sla_policy, actor=None,
                reason=reasons_text(entitlement.reasons),
            )  # fmt: skip
            moved += 1
    return moved


class _Rollback(Exception):
    pass


def measured(move: Any) -> tuple[float, int, list[tuple[Any, ...]]]:
    """Seconds, queries and the resulting clocks of ``move``, which is then undone."""
    result: tuple[float, int, list[tuple[Any, ...]]] = (0.0, 0, [])
    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            move()
            seconds = time.perf_counter() - start
            clocks = list(
                Clock.objects.order_by("ticket_id", "metric").values_list(
                    "ticket_id", "metric", "target_id", "due_at", "carried_seconds"
                )
            )
            result = (seconds, len(queries.captured_queries), clocks)
            raise _Rollback
    except _Rollback:
        pass
    return result


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("run on PostgreSQL (DATABASE_URL)")
    tickets = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    call_command("flush", interactive=False, verbosity=0)
    cast = build_cast()
    desk = build_desk(cast)
    tenant = cast.tenant_a
    with scope(tenant=tenant):
        fast = SLAPolicy.objects.create(tenant=tenant, name="Fast", calendar=desk.office)
        for metric, amount in ((Metric.FIRST_RESPONSE, 2), (Metric.RESOLUTION, 16)):
            SLATarget.objects.create(
                tenant=tenant, policy=fast, metric=metric, amount=amount, unit=TargetUnit.HOURS
            )
        start = time.perf_counter()
        for i in range(tickets):
            moment = at(2026, 3, 2 + i % 4, 8 + i % 9, i % 60)
            with time_machine.travel(moment, tick=False):
                ticket = ticket_create(
                    tenant=tenant, requester=cast.customer_contact, subject=f"Ticket {i}",
                    description="x", channel=Channel.PORTAL,
                )  # fmt: skip
                if i % 5 == 1:
                    ticket_reply(
                        ticket=ticket, body="On it.", public=True, channel=Channel.PORTAL,
                        author=cast.agent,
                    )  # fmt: skip
                elif i % 5 == 2:
                    ticket_change_status(
                        ticket=ticket, status=Status.PENDING, actor=cast.agent,
                        channel=Channel.PORTAL,
                    )  # fmt: skip
        print(f"{tickets:,} open tickets filed in {time.perf_counter() - start:.0f} s")
        SupportPlan.objects.filter(pk=desk.plan.pk).update(sla_policy=fast)
        print(load_average())
        organisations = [desk.contract.organisation_id]
        with time_machine.travel(MOVE_AT, tick=False):
            new_s, new_q, new_clocks = measured(
                lambda: tickets_sla_policy_recompute(tenant=tenant, organisation_ids=organisations)
            )
            old_s, old_q, old_clocks = measured(one_by_one)
    if new_clocks != old_clocks:
        raise SystemExit("the bulk move and the one-by-one move end differently")
    print(
        f"move {tickets:,} tickets to another policy: bulk {new_s:7.2f} s {new_q:7,} queries"
        f"   baseline (one by one) {old_s:7.2f} s {old_q:7,} queries"
    )
    print(f"({load_average()})")


if __name__ == "__main__":
    main()
