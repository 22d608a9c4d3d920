"""The SLA dashboard, one organisation's monthly report page and the worker's month of
reports, on PostgreSQL, beside naive per-ticket baselines run in the same process (issue #17).

Needs its own PostgreSQL database, emptied and filled on each run (``make bench-dashboard``)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench_dashboard
    .venv/bin/python -m benchmarks.bench_dashboard [tenants the worker sends for, default 100]

The data is made set-based (a few ORM rows per tenant for its desk, then one
``INSERT ... SELECT generate_series`` each for tickets, clocks and ratings), not through the
services, so it takes about a minute (60 s measured for 185,000 tickets over 101 tenants).
``BENCH_BIG_MONTH``, ``BENCH_TENANTS`` and ``BENCH_SMALL_MONTH`` make a smaller trial run;
``BENCH_PROFILE=1`` adds a cProfile top 10 of the big report page and one tenant's task:

- ``bench-big``: 100,000 tickets received in the measured month (the month before today in
  the tenant's time zone) and 5,000 in each of the 11 months before it (the trend chart's),
  over 20 organisations (one of them has about a seventh of the tickets), 3 priorities,
  4 categories, 4 channels. 70 % are solved or closed with both clocks stopped (about 85 %
  met, 12 % missed, 3 % of first responses not needed); 30 % are open, first response
  stopped for half of them, resolution running (due before or after now) or paused.
  A tenth are rated.
- 100 tenants ``bench-001`` ... of 300 tickets in the month each, 4 organisations each, 3 of
  them on a plan with monthly reports and two named contacts each (one organisation's
  second contact reads Swedish), and one manager: 7 report mails per tenant, 700 in all.

Measured: the dashboard (``/reports/`` for the month, rendered HTML with its charts) and the
biggest organisation's monthly report page, through Django's test client, p50/p95 and
queries per request, for the big tenant and a small one; then the monthly task
(``sla_reports_tenant_send``) for the 100 small tenants in-process, Celery eager, mail
through the locmem backend: each report's PDF and chart images are made and each mail is
delivered, counted in ``django.core.mail.outbox`` and in the outbox table. Wall-clock
timings; no test asserts them.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import logging
import multiprocessing
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
# The report task's mails are delivered in-process (locmem), not queued on a broker.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its CSS warnings, per PDF
logging.getLogger("celery").setLevel(logging.WARNING)  # a line per eager task
logging.getLogger("axes").setLevel(logging.WARNING)  # a line per test-client login

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

import reports.services  # noqa: E402
from benchmarks.http_load import load_average, timed  # noqa: E402
from contracts.models import (  # noqa: E402
    Contact,
    Contract,
    Feature,
    NamedContact,
    Organisation,
    PlanFeature,
    SupportPlan,
)
from reports.dashboard import Period, TicketFilters, dashboard_build  # noqa: E402
from reports.services import MONTHLY_REPORTS, month_bounds  # noqa: E402
from reports.tasks import sla_reports_tenant_send  # noqa: E402
from sla.metrics import METRICS  # noqa: E402
from sla.models import (  # noqa: E402
    Calendar,
    Clock,
    ClockState,
    Metric,
    Priority,
    SLAPolicy,
    SLATarget,
    TargetUnit,
)
from supportdesk.models import Membership, Role, Tenant, User  # noqa: E402
from tickets.choices import Category, Channel  # noqa: E402
from tickets.mail.models import OutboundEmail, OutboundKind  # noqa: E402
from tickets.models import Ticket  # noqa: E402

OFFICE = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "SE", "categories": ["public", "de_facto"]},
}
# Sizes: the by default; BENCH_BIG_MONTH, BENCH_TENANTS, BENCH_SMALL_MONTH for a
# smaller trial run.
BIG_MONTH = int(os.environ.get("BENCH_BIG_MONTH", "100000"))
BIG_EARLIER = 5_000  # per month, for the 11 months before (the dashboard's trend)
BIG_ORGANISATIONS = 20
SMALL_TENANTS = int(os.environ.get("BENCH_TENANTS", "100"))
SMALL_MONTH = int(os.environ.get("BENCH_SMALL_MONTH", "300"))
SMALL_ORGANISATIONS = 4
RUNS = 7
SLOW_RUNS = 2  # for a report page of more than SLOW_PAGE tickets (about 3 s a thousand)
SLOW_PAGE = 5_000
PER_TICKET_SAMPLE = 2_000  # the query-per-ticket baseline's sample, scaled to all
WORKER_BASELINE_SAMPLE = 10  # tenants; the worker baseline is scaled to all
WORKERS = 2  # processes, as a Celery worker's default concurrency on this 2-core machine
CHANNELS = [Channel.EMAIL, Channel.PORTAL, Channel.PHONE, Channel.API]
CATEGORIES = [Category.QUESTION, Category.INCIDENT, Category.BUG, Category.CHANGE_REQUEST]
FR_BUDGET = 4 * 3600.0
RES_BUDGET = 2 * 9 * 3600.0


@dataclass
class Desk:
    tenant: Tenant
    manager: User
    organisations: list[Organisation]
    contacts: list[Contact]
    priorities: list[Priority]
    policy: SLAPolicy
    targets: dict[Metric, SLATarget]
    calendar: Calendar
    agents: list[User]


def desk_make(slug: str, *, organisations: int, entitled: int) -> Desk:
    """A tenant with a manager, agents, an office calendar, P1-P3, a policy, a plan with
    monthly reports for the first ``entitled`` organisations (two named contacts each) and
    a plan without for the rest: a few dozen ORM rows."""
    with scopes_disabled():
        tenant = Tenant.objects.create(slug=slug, name=slug.title(), ticket_prefix=slug[-3:])
    with scope(tenant=tenant):
        manager = User.objects.create(username=f"{slug}-manager", email=f"manager@{slug}.test")
        Membership.objects.create(tenant=tenant, user=manager, role=Role.MANAGER)
        agents = [
            User.objects.create(username=f"{slug}-agent{a}", email=f"agent{a}@{slug}.test")
            for a in range(3)
        ]
        Membership.objects.bulk_create(
            [Membership(tenant=tenant, user=a, role=Role.AGENT) for a in agents]
        )
        calendar = Calendar.objects.create(
            tenant=tenant, name="Office", config=OFFICE, is_default=True
        )
        priorities = [
            Priority.objects.create(tenant=tenant, key=f"P{r}", name=f"P{r}", rank=r)
            for r in (1, 2, 3)
        ]
        policy = SLAPolicy.objects.create(tenant=tenant, name="Standard", calendar=calendar)
        targets = {
            Metric.FIRST_RESPONSE: SLATarget.objects.create(
                tenant=tenant, policy=policy, metric=Metric.FIRST_RESPONSE, amount=4,
                unit=TargetUnit.HOURS,
            ),
            Metric.RESOLUTION: SLATarget.objects.create(
                tenant=tenant, policy=policy, metric=Metric.RESOLUTION, amount=2,
                unit=TargetUnit.WORKING_DAYS,
            ),
        }  # fmt: skip
        categories = [c for c in Category.values if c != Category.OUT_OF_SCOPE]
        gold = SupportPlan.objects.create(
            tenant=tenant, name="Gold", sla_policy=policy, included_categories=categories
        )
        basic = SupportPlan.objects.create(
            tenant=tenant, name="Basic", sla_policy=policy, included_categories=categories
        )
        feature = Feature.objects.create(tenant=tenant, key=MONTHLY_REPORTS, name="Reports")
        PlanFeature.objects.create(tenant=tenant, plan=gold, feature=feature)
        orgs = Organisation.objects.bulk_create(
            [Organisation(tenant=tenant, name=f"Customer {o:02d}") for o in range(organisations)]
        )
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    tenant=tenant,
                    organisation=org,
                    name=f"Contact {o}-{c}",
                    email=f"contact{c}@customer{o}.{slug}.test",
                    language="sv" if (o, c) == (1, 1) else "",
                )
                for o, org in enumerate(orgs)
                for c in range(2)
            ]
        )
        contracts = Contract.objects.bulk_create(
            [
                Contract(
                    tenant=tenant,
                    organisation=org,
                    plan=gold if o < entitled else basic,
                    starts_on=dt.date(2020, 1, 1),
                )
                for o, org in enumerate(orgs)
            ]
        )
        NamedContact.objects.bulk_create(
            [
                NamedContact(tenant=tenant, contract=contracts[o], contact=contact)
                for o in range(entitled)
                for contact in contacts[2 * o : 2 * o + 2]
            ]
        )
    return Desk(tenant, manager, orgs, contacts, priorities, policy, targets, calendar, agents)


def tickets_make(desk: Desk, *, start: dt.datetime, end: dt.datetime, count: int) -> None:
    """``count`` tickets received evenly over [start, end), their two clocks and ratings:
    one INSERT ... SELECT each. Organisation 0's contacts file a seventh of them beside
    their even share."""
    tenant = desk.tenant
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(number), 1000) FROM tickets_ticket WHERE tenant_id = %s",
            [tenant.pk],
        )
        first = cursor.fetchone()[0] + 1
        cursor.execute(
            """
            INSERT INTO tickets_ticket (
                tenant_id, number, reference, subject, description, channel, category, status,
                support_line, billable, billing_accepted, vendor_reference, entitlement_reasons,
                entitlement_reason_codes, received_at, created_at, updated_at,
                first_responded_at, solved_at, closed_at, version, assignee_id,
                organisation_id, priority_id, requester_id, sla_policy_id, vendor_state
            )
            SELECT %(tenant)s, %(first)s + g, %(prefix)s || '-' || (%(first)s + g),
                'Bench ticket ' || g, '', (%(channels)s::text[])[1 + g %% 4],
                (%(categories)s::text[])[1 + (g / 4) %% 4],
                CASE WHEN g %% 10 < 5 THEN 'closed' WHEN g %% 10 < 7 THEN 'solved'
                     WHEN g %% 10 = 7 THEN 'open' WHEN g %% 10 = 8 THEN 'new'
                     ELSE 'pending' END,
                1 + g %% 3 / 2, false, false, '', '', '[]'::jsonb, at, at, at,
                CASE WHEN g %% 10 < 7 OR g %% 2 = 0 THEN at + interval '1 hour' END,
                CASE WHEN g %% 10 < 7 THEN at + interval '5 hours' END,
                CASE WHEN g %% 10 < 5 THEN at + interval '2 days' END,
                1, (%(agents)s::bigint[])[1 + g %% 3],
                (%(orgs)s::bigint[])[1 + c], (%(priorities)s::bigint[])[1 + g %% 7 %% 3],
                (%(contacts)s::bigint[])[1 + c], %(policy)s, ''
            FROM (
                SELECT g, %(start)s::timestamptz
                          + (%(end)s::timestamptz - %(start)s::timestamptz) * g / %(count)s AS at,
                       CASE WHEN g %% 7 = 0 THEN (g / 7) %% 2
                            ELSE g %% (2 * %(orgs_n)s) END AS c
                FROM generate_series(0, %(count)s - 1) AS g
            ) AS t
            """,
            {
                "tenant": tenant.pk,
                "first": first,
                "prefix": tenant.ticket_prefix,
                "channels": list(CHANNELS),
                "categories": list(CATEGORIES),
                "agents": [a.pk for a in desk.agents],
                # contact c belongs to organisation c // 2; the arrays are indexed by c.
                "orgs": [c.organisation_id for c in desk.contacts],
                "contacts": [c.pk for c in desk.contacts],
                "orgs_n": len(desk.organisations),
                "priorities": [p.pk for p in desk.priorities],
                "policy": desk.policy.pk,
                "start": start,
                "end": end,
                "count": count,
            },
        )
        # Clocks by the ticket's number: h picks the outcome (0-84 met, 85-96 missed, the
        # rest of a first response not needed); elapsed spreads over the dashboard's bands.
        cursor.execute(
            """
            INSERT INTO sla_clock (
                tenant_id, ticket_id, metric, target_id, calendar_id, state, started_at,
                budget_seconds, elapsed_seconds, segments, due_at, stopped_at, breached_at,
                met, next_alert_at, computed_at
            )
            SELECT t.tenant_id, t.id, m.metric, m.target, %(calendar)s,
                CASE WHEN m.metric = 'first_response' AND (t.status IN ('closed', 'solved')
                          OR t.first_responded_at IS NOT NULL) THEN 'stopped'
                     WHEN m.metric = 'resolution' AND t.status IN ('closed', 'solved')
                          THEN 'stopped'
                     WHEN t.status = 'pending' THEN 'paused'
                     ELSE 'running' END AS state,
                t.received_at, m.budget,
                m.budget * CASE WHEN h < 85 THEN h / 85.0 ELSE 1 + (h - 84) / 8.0 END,
                '[]'::jsonb,
                CASE WHEN t.status = 'pending' THEN NULL
                     WHEN h %% 2 = 0 THEN now() + interval '1 day'
                     ELSE t.received_at + interval '3 days' END,
                NULL, NULL, NULL, NULL, now()
            FROM tickets_ticket t
            CROSS JOIN (VALUES ('first_response', %(fr)s::bigint, %(fr_budget)s::float),
                               ('resolution', %(res)s::bigint, %(res_budget)s::float))
                AS m(metric, target, budget)
            CROSS JOIN LATERAL (SELECT (t.number * 37 + length(m.metric)) %% 100 AS h) AS o
            WHERE t.tenant_id = %(tenant)s AND t.number >= %(first)s
            """,
            {
                "tenant": tenant.pk,
                "first": first,
                "calendar": desk.calendar.pk,
                "fr": desk.targets[Metric.FIRST_RESPONSE].pk,
                "res": desk.targets[Metric.RESOLUTION].pk,
                "fr_budget": FR_BUDGET,
                "res_budget": RES_BUDGET,
            },
        )
        # Stopped clocks get their outcome; a running one past its due time is missed.
        cursor.execute(
            """
            UPDATE sla_clock c SET
                stopped_at = c.started_at + interval '1 second' * c.elapsed_seconds,
                met = CASE WHEN c.elapsed_seconds <= c.budget_seconds THEN true
                           WHEN c.metric = 'first_response'
                                AND c.elapsed_seconds > 2.5 * c.budget_seconds THEN NULL
                           ELSE false END,
                due_at = c.started_at + interval '1 second' * c.budget_seconds,
                next_alert_at = NULL
            WHERE c.tenant_id = %(tenant)s AND c.state = 'stopped'
                AND c.ticket_id IN (SELECT id FROM tickets_ticket
                                    WHERE tenant_id = %(tenant)s AND number >= %(first)s)
            """,
            {"tenant": tenant.pk, "first": first},
        )
        cursor.execute(
            """
            UPDATE sla_clock SET breached_at = due_at
            WHERE tenant_id = %(tenant)s AND state = 'running' AND due_at < now()
            """,
            {"tenant": tenant.pk},
        )
        cursor.execute(
            """
            INSERT INTO tickets_satisfactionrating (tenant_id, ticket_id, contact_id, rating,
                                                    comment, rated_at)
            SELECT tenant_id, id, requester_id,
                   CASE WHEN number %% 30 < 25 THEN 'good' ELSE 'bad' END, '', solved_at
            FROM tickets_ticket
            WHERE tenant_id = %(tenant)s AND number >= %(first)s AND solved_at IS NOT NULL
                AND number %% 10 = 3
            """,
            {"tenant": tenant.pk, "first": first},
        )


def data_make(month: dt.date) -> tuple[Desk, list[Desk]]:
    started = time.perf_counter()
    call_command("flush", interactive=False, verbosity=0)
    big = desk_make("bench-big", organisations=BIG_ORGANISATIONS, entitled=BIG_ORGANISATIONS)
    start, end = month_bounds(tenant=big.tenant, month=month)
    tickets_make(big, start=start, end=end, count=BIG_MONTH)
    earlier = month
    for _ in range(11):
        earlier = (earlier - dt.timedelta(days=1)).replace(day=1)
        e_start, e_end = month_bounds(tenant=big.tenant, month=earlier)
        tickets_make(big, start=e_start, end=e_end, count=BIG_EARLIER)
    small = []
    for i in range(1, SMALL_TENANTS + 1):
        desk = desk_make(f"bench-{i:03d}", organisations=SMALL_ORGANISATIONS, entitled=3)
        tickets_make(desk, start=start, end=end, count=SMALL_MONTH)
        small.append(desk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with scopes_disabled():
        tickets = Ticket.objects.count()
    print(
        f"data: {tickets:,} tickets over {SMALL_TENANTS + 1} tenants made in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return big, small


def page(client: Client, path: str, query: dict[str, Any]) -> tuple[int, int, float, float]:
    """(queries, bytes, ms in SQL, ms of the slowest query) of one GET, which must answer
    200: the rest of a request's time is Python (the figures, the charts, the template)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, query)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    times = [float(q["time"]) * 1000 for q in queries.captured_queries]
    return len(times), len(response.content), sum(times), max(times, default=0.0)


def judged(counts: dict[str, list[int]], clock: Any, now: dt.datetime) -> None:
    """Count one clock as met or missed by the rule of ``reports.selectors.clock_missed``."""
    if clock.met is True:
        counts[clock.metric][0] += 1
    elif clock.met is False or (
        clock.state != ClockState.STOPPED
        and (clock.breached_at is not None or (clock.due_at and clock.due_at < now))
    ):
        counts[clock.metric][1] += 1


def per_ticket(tickets: Any, now: dt.datetime, sample: int) -> tuple[float, int]:
    """The first baseline: each ticket's clocks read one ticket at a time (one query each),
    on the first ``sample`` tickets, scaled to all of them: (seconds, queries)."""
    count = tickets.count()
    counts = {metric: [0, 0] for metric in METRICS}
    begin = time.perf_counter()
    for ticket in tickets.order_by("pk")[:sample]:
        for clock in ticket.clocks.all():
            judged(counts, clock, now)
    seconds = time.perf_counter() - begin
    return seconds * count / max(1, min(sample, count)), count + 1


def python_loop(tickets: Any, now: dt.datetime) -> tuple[float, dict[str, list[int]]]:
    """The second baseline: every clock of the tickets read in one query and counted in a
    Python loop: (seconds, counts)."""
    counts = {metric: [0, 0] for metric in METRICS}
    begin = time.perf_counter()
    for clock in Clock.objects.filter(ticket__in=tickets.values("pk")).iterator(2000):
        judged(counts, clock, now)
    return time.perf_counter() - begin, counts


def biggest_organisation(desk: Desk, start: dt.datetime, end: dt.datetime) -> Organisation:
    with scope(tenant=desk.tenant):
        counts = Counter(
            Ticket.objects.filter(received_at__gte=start, received_at__lt=end).values_list(
                "organisation", flat=True
            )
        )
        return Organisation.objects.get(pk=counts.most_common(1)[0][0])


def bench_pages(desk: Desk, month: dt.date, now: dt.datetime) -> list[str]:
    tenant = desk.tenant
    start, end = month_bounds(tenant=tenant, month=month)
    org = biggest_organisation(desk, start, end)
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    client.force_login(desk.manager)
    label = f"{month:%Y-%m}"
    lines = []
    with scope(tenant=tenant):
        in_month = Ticket.objects.filter(received_at__gte=start, received_at__lt=end)
        size, org_size = in_month.count(), in_month.filter(organisation=org).count()
        for what, path, query, tickets in (
            ("dashboard", "/reports/", {"period": "month", "month": label}, in_month),
            (
                f"report of {org.name} ({org_size:,} tickets)",
                "/reports/monthly/",
                {"month": label, "organisation": str(org.pk)},
                in_month.filter(organisation=org),
            ),
        ):
            runs = SLOW_RUNS if what != "dashboard" and org_size > SLOW_PAGE else RUNS
            p50, p95 = timed(partial(client.get, path, query), runs)
            queries, size_bytes, sql_ms, slowest_ms = page(client, path, query)
            base_s, base_q = per_ticket(tickets, now, PER_TICKET_SAMPLE)
            loop_s, counts = python_loop(tickets, now)
            line = (
                # Two runs have no 95th percentile: the column says so.
                f"| {tenant.slug} ({size:,} in the month) | {what} | {p50:,.0f} "
                f"| {f'{p95:,.0f}' if runs == RUNS else '–'} "
                f"| {queries} | {sql_ms:,.0f} (slowest {slowest_ms:,.0f}) "
                f"| {size_bytes / 1024:,.0f} KiB | {base_s * 1000:,.0f} "
                f"({base_q:,} queries) | {loop_s * 1000:,.0f} |"
            )
            print(line, flush=True)
            lines.append(line)
            if what == "dashboard":
                built = dashboard_build(
                    tenant=tenant, period=Period.month(month), filters=TicketFilters(), now=now
                )
                seen = {k: [o.met, o.missed] for k, o in built.total.items() if k in counts}
                if any(seen[k] != counts[k] for k in seen):
                    raise SystemExit(f"the baseline counts {counts}, the dashboard {seen}")
    return lines


@contextmanager
def stopwatch(names: list[str]) -> Iterator[dict[str, float]]:
    """Seconds spent in each named function of ``reports.services`` while inside."""
    spent: dict[str, float] = dict.fromkeys(names, 0.0)
    saved = {name: getattr(reports.services, name) for name in names}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - begin

        return timed_call

    for name, fn in saved.items():
        setattr(reports.services, name, wrap(name, fn))
    try:
        yield spent
    finally:
        for name, fn in saved.items():
            setattr(reports.services, name, fn)


STOPWATCH = ["sla_report_build", "report_figures", "report_pdf", "chart_png", "mail_enqueue"]


def worker_share(tenant_ids: list[int], month: str) -> tuple[list[int], int, int, dict[str, float]]:
    """One worker process's tenants: the monthly task for each, in-process (Celery eager,
    mail delivered to locmem). (queries per tenant, mails delivered, PDFs, seconds inside
    the report's steps)."""
    connection.close()  # forked: a connection of this process's own
    mail.outbox = []
    per_tenant = []
    with stopwatch(STOPWATCH) as spent:
        for tenant_id in tenant_ids:
            with CaptureQueriesContext(connection) as queries:
                sla_reports_tenant_send.apply(args=(tenant_id, month))
            per_tenant.append(len(queries.captured_queries))
    delivered = [m for m in mail.outbox if "SLA" in m.subject]
    pdfs = sum(1 for m in delivered for a in m.attachments if isinstance(a, tuple))
    connection.close()
    return per_tenant, len(delivered), pdfs, dict(spent)


def bench_worker(desks: list[Desk], month: dt.date, now: dt.datetime) -> list[str]:
    with scopes_disabled():
        OutboundEmail.objects.filter(kind=OutboundKind.SLA_REPORT).delete()
    ids = [d.tenant.pk for d in desks]
    shares = [ids[i::WORKERS] for i in range(WORKERS)]
    connection.close()  # not shared with the forked processes
    begin = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        results = pool.starmap(worker_share, [(share, f"{month:%Y-%m}") for share in shares])
    wall = time.perf_counter() - begin
    per_tenant = [q for r in results for q in r[0]]
    delivered = sum(r[1] for r in results)
    pdfs = sum(r[2] for r in results)
    spent = {name: sum(r[3][name] for r in results) for name in STOPWATCH}
    with scopes_disabled():
        rows = OutboundEmail.objects.filter(kind=OutboundKind.SLA_REPORT).count()
    # The baseline: the same reports' figures alone (no PDF, no mail), one query per ticket,
    # on the first tenants, scaled to all.
    sample = desks[:WORKER_BASELINE_SAMPLE]
    base = 0.0
    for desk in sample:
        with scope(tenant=desk.tenant):
            start, end = month_bounds(tenant=desk.tenant, month=month)
            in_month = Ticket.objects.filter(received_at__gte=start, received_at__lt=end)
            for org in desk.organisations[:3]:
                base += per_ticket(in_month.filter(organisation=org), now, SMALL_MONTH)[0]
            base += per_ticket(in_month, now, SMALL_MONTH)[0]
    base *= len(desks) / len(sample)
    parts = ", ".join(f"{name} {spent[name]:.0f} s" for name in STOPWATCH)
    scaled = ""
    if len(desks) < SMALL_TENANTS:
        scaled = f" (scaled to {SMALL_TENANTS}: {wall * SMALL_TENANTS / len(desks):,.0f} s)"
    lines = [
        f"| the monthly task for {len(desks)} tenants ({SMALL_MONTH} tickets each), "
        f"{WORKERS} processes | {wall:,.1f} s{scaled} "
        f"| {min(per_tenant)}–{max(per_tenant)} queries per tenant "
        f"| {rows} outbox rows, {delivered} delivered (locmem), {pdfs} PDFs "
        f"| figures alone, one query per ticket: {base:,.1f} s |",
        f"  (seconds inside the task's steps, summed over the processes: {parts})",
    ]
    for line in lines:
        print(line, flush=True)
    return lines


def profile_top(label: str, fn: Callable[[], object]) -> None:
    """The ten functions ``fn`` spends the most time in (their own time), for the lead."""
    profile = cProfile.Profile()
    profile.enable()
    fn()
    profile.disable()
    print(f"\nprofile, {label}: top 10 by own time")
    pstats.Stats(profile).sort_stats("tottime").print_stats(10)


def slowest_queries(client: Client, path: str, query: dict[str, Any]) -> None:
    """Each query of one GET, slowest first, with its time."""
    with CaptureQueriesContext(connection) as queries:
        client.get(path, query)
    print(f"\nqueries of {path}, slowest first:")
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"])):
        print(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:150]}")


def bench_profiles(big: Desk, small: Desk, month: dt.date) -> None:
    """The big dashboard's queries, one request of the big organisation's report page and
    one tenant's monthly task, profiled."""
    start, end = month_bounds(tenant=big.tenant, month=month)
    org = biggest_organisation(big, start, end)
    client = Client(HTTP_HOST=f"{big.tenant.slug}.localhost")
    client.force_login(big.manager)
    slowest_queries(client, "/reports/", {"period": "month", "month": f"{month:%Y-%m}"})
    query = {"month": f"{month:%Y-%m}", "organisation": str(org.pk)}
    profile_top(
        "the big organisation's report page", lambda: client.get("/reports/monthly/", query)
    )
    with scopes_disabled():
        OutboundEmail.objects.filter(tenant=small.tenant, kind=OutboundKind.SLA_REPORT).delete()
    profile_top(
        f"the monthly task of {small.tenant.slug}",
        lambda: sla_reports_tenant_send.apply(args=(small.tenant.pk, f"{month:%Y-%m}")),
    )


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("run on PostgreSQL (DATABASE_URL)")
    print(load_average())
    now = timezone.now()
    today = timezone.localtime(now, ZoneInfo("Europe/Stockholm")).date()
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # the last month
    big, small = data_make(month)
    print(load_average())
    print(
        "\n| tenant | page | p50 ms | p95 ms | queries | of one request in SQL, ms | size "
        "| baseline: a query per ticket, ms | baseline: Python loop over the clocks, ms |"
        "\n|---|---|---|---|---|---|---|---|---|"
    )
    bench_pages(big, month, now)
    bench_pages(small[0], month, now)
    print(f"({load_average()})\n")
    measured = int(sys.argv[1]) if len(sys.argv) > 1 else SMALL_TENANTS
    bench_worker(small[:measured], month, now)
    print(f"({load_average()})")
    if os.environ.get("BENCH_PROFILE"):
        bench_profiles(big, small[0], month)


if __name__ == "__main__":
    main()
