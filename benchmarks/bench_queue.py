"""Speed of the agent queue, the breach sweep and a calendar edit, on load data.

Run against a separate PostgreSQL database seeded with ``seed_load``::

    createdb -h 127.0.0.1 -U postgres supportdesk_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench
    DEBUG=1 .venv/bin/python manage.py migrate
    DEBUG=1 .venv/bin/python manage.py seed_load --tenants 100 --tickets 1000000 --big-open 100000
    .venv/bin/python -m benchmarks.bench_queue

Every figure is printed beside its baseline: OFFSET pagination vs keyset, a Python loop over
the clocks vs the index range scan, deriving each ticket from its history vs the bulk path.
Requests go through the whole Django stack (middleware, auth, view, template/serializer)
with the test client. Wall-clock timings on whatever machine runs this; no test asserts them.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

# The test settings: production code paths (DEBUG off, cached templates) without needing
# collectstatic; DATABASE_URL still chooses the database.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from sla.models import Calendar, Clock, ClockState, RecomputeJob  # noqa: E402
from sla.selectors import due_clocks  # noqa: E402
from sla.services import calendar_update, recompute_run, sla_refresh  # noqa: E402
from supportdesk.models import ApiToken, Tenant, User  # noqa: E402
from tickets.models import ACTIVE_STATUSES, Ticket  # noqa: E402
from tickets.queue import QueueFilters, queue_page, queue_queryset  # noqa: E402

RUNS = 100
PAGE = 50


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"benchmark check failed: {what}")


def timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, float, Any]:
    """(p50 ms, p95 ms, last result) over ``runs`` calls after two warm-ups."""
    result = None
    for _ in range(2):
        result = fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], result


def queries(fn: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def row(label: str, p50: float, p95: float, extra: str = "") -> None:
    print(f"  {label:<46} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   {extra}")


def clients(tenant: Tenant) -> tuple[Client, Client]:
    user = User.objects.get(username=f"{tenant.slug}-agent")
    with scope(tenant=tenant):
        _token, key = ApiToken.issue(tenant=tenant, user=user, name="bench")
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}")
    web = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    web.force_login(user)
    return api, web


def cursor_of_page(api: Client, page: int, query: str = "") -> str:
    url = f"/api/v1/tickets/?page_size={PAGE}{query}"
    for _ in range(page - 1):
        url = api.get(url).json()["next"]
    return url


def bench_queue(tenant: Tenant, pages: list[int], query: str = "") -> None:
    api, web = clients(tenant)
    with scope(tenant=tenant):
        active = Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
    print(f"\nQueue of {tenant.slug} ({active:,} tickets being worked on){query and ' ' + query}")
    for page in pages:
        url = cursor_of_page(api, page, query)
        check(api.get(url).status_code == 200, "queue API answers")
        web_url = "/agent/queue/" + url.split("/api/v1/tickets/", 1)[1].replace(
            f"page_size={PAGE}&", ""
        )
        p50, p95, _ = timed(lambda url=url: api.get(url))
        count = queries(lambda url=url: api.get(url))
        row(f"API page {page} (keyset)", p50, p95, f"{count} queries")
        p50, p95, response = timed(lambda web_url=web_url: web.get(web_url))
        check(response.status_code == 200, "queue page answers")
        count = queries(lambda web_url=web_url: web.get(web_url))
        row(f"web page {page} (keyset)", p50, p95, f"{count} queries")
        with scope(tenant=tenant):
            filters = QueueFilters.from_params(dict(parse_qsl(query.lstrip("&"))))
            user = User.objects.get(username=f"{tenant.slug}-agent")
            offset = (page - 1) * PAGE

            def by_offset(
                filters: QueueFilters = filters, user: User = user, offset: int = offset
            ) -> list[Ticket]:
                qs = queue_queryset(filters=filters, user=user).order_by(
                    F("schedule__due_at").asc(nulls_last=True), "id"
                )
                return list(qs[offset : offset + PAGE])

            def by_keyset(
                url: str = url, filters: QueueFilters = filters, user: User = user
            ) -> list[Ticket]:
                cursor = dict(parse_qsl(url.split("?", 1)[1])).get("cursor")
                qs = queue_queryset(filters=filters, user=user)
                return queue_page(qs=qs, cursor=cursor, size=PAGE).rows

            a50, a95, offset_rows = timed(by_offset, 30)
            b50, b95, keyset_rows = timed(by_keyset, 30)
            check([t.pk for t in offset_rows] == [t.pk for t in keyset_rows], "same rows")
            row(f"  page {page} rows only: OFFSET {offset:,}", a50, a95)
            row(f"  page {page} rows only: keyset", b50, b95)


def bench_sweep() -> None:
    now = timezone.now()
    with scopes_disabled():
        running = Clock.objects.filter(state=ClockState.RUNNING).count()
    print(f"\nBreach sweep over all tenants ({running:,} running clocks)")
    p50, p95, due = timed(lambda: due_clocks(now=now))
    row("index range scan on TicketSchedule.alert_at", p50, p95, f"{len(due)} due now")
    for label, ahead in (("hour", 1), ("day", 24)):
        later = now + timezone.timedelta(hours=ahead)
        p50, p95, due_later = timed(lambda later=later: due_clocks(now=later), 30)
        row(f"same, everything due within the {label}", p50, p95, f"{len(due_later)} tickets")

    def python_loop() -> list[int]:
        found = []
        with scopes_disabled():
            for ticket_id, moment in (
                Clock.objects.filter(state=ClockState.RUNNING)
                .values_list("ticket_id", "next_alert_at")
                .iterator(chunk_size=20000)
            ):
                if moment is not None and moment <= now:
                    found.append(ticket_id)
        return found

    p50, p95, found = timed(python_loop, 3)
    row("baseline: Python loop over every clock", p50, p95, f"{len(set(found))} due")
    check(len(set(found)) == len({t for _tn, t in due}), "sweep finds the same tickets")


def bench_recompute(tenant: Tenant) -> None:
    with scope(tenant=tenant):
        calendar = Calendar.objects.get(is_default=True)
        live = Clock.objects.filter(state__in=[ClockState.RUNNING, ClockState.PAUSED]).count()
        open_tickets = Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
        print(
            f"\nCalendar edit in {tenant.slug}: {open_tickets:,} open tickets, {live:,} live clocks"
        )
        week = calendar.config["week"]
        edits = {
            "Friday closes at 15:00": {**calendar.config, "week": {**week, "fri": ["08:00-15:00"]}},
            "every day opens an hour later": {
                **calendar.config,
                "week": {day: ["09:00-17:00"] for day in week},
            },
        }
        timings: list[float] = []
        for what, edited in edits.items():
            started = timezone.now()
            start = time.perf_counter()
            with transaction.atomic():
                count = calendar_update(
                    calendar=calendar,
                    name=calendar.name,
                    config=edited,
                    is_default=True,
                    actor=None,
                )
                request_s = time.perf_counter() - start
                # What the Celery task does after commit (run here, inside the transaction
                # rolled back below): batches of tickets, forward-only, progress per batch.
                job = RecomputeJob.objects.filter(object_id=str(calendar.pk)).first()
                if job is not None and job.state == "queued":
                    recompute_run(job_id=job.pk)
                bulk_s = time.perf_counter() - start
                rewritten = Clock.objects.filter(computed_at__gte=started).count()
                transaction.set_rollback(True)  # leave the data as seeded, so runs repeat
            timings.append(bulk_s)
            label = f"bulk recompute: {what}"
            print(
                f"  {label:<46} {bulk_s:8.2f} s    {count:,} clocks, {rewritten:,} changed;"
                f" the request returned after {request_s:.2f} s"
            )
        sample = list(
            Ticket.objects.filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True)[:300]
        )
        start = time.perf_counter()
        with transaction.atomic():
            for ticket in Ticket.objects.filter(pk__in=sample).select_related("organisation"):
                sla_refresh(ticket=ticket)
            transaction.set_rollback(True)
        per = (time.perf_counter() - start) / len(sample)
        print(
            f"  {'baseline: derive each ticket from history':<46} {per * open_tickets:8.2f} s"
            f"    (extrapolated from {len(sample)} tickets, {per * 1000:.1f} ms each)"
        )
        replay = per * open_tickets
        print(
            f"  {'ratio, per-ticket replay / bulk recompute':<46} "
            + ", ".join(f"{replay / t:.0f}x" for t in timings)
            + f"    (load average {os.getloadavg()[0]:.2f})"
        )


def main(parts: list[str]) -> None:
    """Run every part, or only those named: queue, sweep, recompute."""
    check(connection.vendor == "postgresql", "run on PostgreSQL (DATABASE_URL)")
    parts = parts or ["queue", "sweep", "recompute"]
    with scopes_disabled():
        total = Ticket.objects.count()
    print(f"{total:,} tickets in {Tenant.objects.filter(slug__startswith='load-').count()} tenants")
    big = Tenant.objects.get(slug="load-001")
    regular = Tenant.objects.get(slug="load-050")
    if "queue" in parts:
        bench_queue(regular, [1, 50], "&status=all")
        bench_queue(big, [1, 50, 1000])
    if "sweep" in parts:
        bench_sweep()
    if "recompute" in parts:
        bench_recompute(big)


if __name__ == "__main__":
    main(sys.argv[1:])
