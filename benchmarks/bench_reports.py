"""The monthly SLA report on load data: a small and the big tenant inside one big database.

Run against the database ``seed_load`` fills (``make bench-reports``, the same one as
``make bench-queue``)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench
    .venv/bin/python -m benchmarks.bench_reports

For each tenant the report of its busiest month, tenant-wide and for one organisation, beside
the previous query shape run in the same process (clocks joined on the ticket alone, counted
with COUNT(DISTINCT) over the join). The report's time should follow its own tenant's size,
not the database's. Wall-clock timings; no test asserts them.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.db.models.functions import TruncMonth  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from benchmarks.http_load import load_average, timed  # noqa: E402
from contracts.models import Organisation  # noqa: E402
from reports.services import month_bounds, sla_report_build  # noqa: E402
from sla.models import Clock, Metric  # noqa: E402
from supportdesk.models import Tenant  # noqa: E402
from tickets.choices import Status  # noqa: E402
from tickets.models import Ticket  # noqa: E402

RUNS = 15


def old_clock_counts(
    *, tenant: Tenant, month: dt.date, organisation: Organisation | None, now: dt.datetime
) -> list[dict[str, Any]]:
    """The previous shape of the report's biggest query, as the baseline."""
    start, end = month_bounds(tenant=tenant, month=month)
    tickets = Ticket.objects.filter(received_at__gte=start, received_at__lt=end)
    if organisation is not None:
        tickets = tickets.filter(organisation=organisation)
    counts: dict[str, Any] = {}
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
        mine = Q(clocks__metric=metric)
        overdue = Q(clocks__met__isnull=True) & (
            Q(clocks__breached_at__isnull=False) | Q(clocks__due_at__lt=now)
        )
        counts[f"{metric}_met"] = Count("clocks", filter=mine & Q(clocks__met=True))
        counts[f"{metric}_breached"] = Count(
            "clocks", filter=mine & (Q(clocks__met=False) | overdue)
        )
    return list(
        tickets.values("organisation").annotate(
            solved=Count("id", filter=Q(status__in=[Status.SOLVED, Status.CLOSED]), distinct=True),
            **counts,
        )
    )


def bench_tenant(tenant: Tenant, now: dt.datetime) -> None:
    with scope(tenant=tenant):
        size = Ticket.objects.count()
        busiest = (
            Ticket.objects.annotate(month=TruncMonth("received_at"))
            .values("month")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        if busiest is None:
            raise SystemExit(f"{tenant.slug} has no tickets: seed load data first")
        month = busiest["month"].date().replace(day=1)
        organisation = (
            Ticket.objects.filter(organisation__isnull=False)
            .values("organisation")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        org = Organisation.objects.get(pk=organisation["organisation"]) if organisation else None
        clocks = Clock.objects.count()
        print(
            f"\n{tenant.slug}: {size:,} tickets, {clocks:,} clocks; "
            f"{month:%Y-%m} has {busiest['n']:,} tickets"
        )
        report = sla_report_build(tenant=tenant, month=month, now=now)
        old = old_clock_counts(tenant=tenant, month=month, organisation=None, now=now)
        old_fr = sum(r[f"{Metric.FIRST_RESPONSE}_met"] for r in old)
        if old_fr != report.total.outcomes["first_response"].met:
            raise SystemExit("the baseline and the report count differently")
        for label, who in (("tenant-wide", None), (f"one organisation ({org})", org)):
            p50, p95 = timed(
                lambda who=who: sla_report_build(
                    tenant=tenant, month=month, organisation=who, now=now
                ),
                RUNS,
            )
            b50, b95 = timed(
                lambda who=who: old_clock_counts(
                    tenant=tenant, month=month, organisation=who, now=now
                ),
                5,
            )
            print(
                f"  report, {label:<34} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms"
                f"   baseline (its clock query alone) p50 {b50:8.2f} ms  p95 {b95:8.2f} ms"
            )


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("run on PostgreSQL (DATABASE_URL)")
    print(load_average())
    with scopes_disabled():
        total = Ticket.objects.count()
        clocks = Clock.objects.count()
    print(f"{total:,} tickets and {clocks:,} clocks in the database")
    now = timezone.now()
    for slug in ("load-050", "load-001"):
        bench_tenant(Tenant.objects.get(slug=slug), now)
    print(f"\n({load_average()})")


if __name__ == "__main__":
    main()
