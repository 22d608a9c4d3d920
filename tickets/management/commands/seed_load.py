"""Load data for the benchmarks: many tenants, a million tickets, live SLA clocks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench \\
        manage.py seed_load --tenants 100 --tickets 1000000 --big-open 100000

Tenants are ``load-001`` ... (agent ``load-001-agent``, password "demo"). The first tenant
gets ``--big-open`` open tickets (the calendar-edit benchmark); the rest are spread evenly.
A share of each tenant's tickets is open with running or paused clocks computed by the SLA
engine's bulk path; the rest are closed. Rows go in with COPY on PostgreSQL (bulk_create
elsewhere, for small trial runs). Not idempotent: it refuses when ``load-001`` exists.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import numpy as np
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django_scopes import scope
from tqdm import tqdm

from contracts.models import Contact, Organisation
from sla.clocks import BulkRow, clock_figures_many
from sla.models import Calendar, EscalationRule, Metric, Priority, SLAPolicy, SLATarget, TargetUnit
from supportdesk.models import Membership, Role, Tenant, User
from tickets.choices import Category, Channel, Status
from tickets.models import TicketCounter

OFFICE = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "SE", "categories": ["public", "de_facto"]},
}
FR_BUDGET = 4 * 3600.0
OPEN_SHARE = 0.35
CONTACTS = 40
AGENTS = 5
CHANNELS = [Channel.EMAIL, Channel.PORTAL, Channel.PHONE, Channel.API]
CATEGORIES = [Category.QUESTION, Category.INCIDENT, Category.BUG, Category.CHANGE_REQUEST]


class Command(BaseCommand):
    help = "Seed load data for the benchmarks (PostgreSQL: COPY; shows a progress bar)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenants", type=int, default=100)
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--big-open", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        tenants, total, big_open = options["tenants"], options["tickets"], options["big_open"]
        if tenants < 1 or total < tenants:
            raise CommandError("--tickets must be at least --tenants, and --tenants at least 1.")
        if Tenant.objects.filter(slug="load-001").exists():
            raise CommandError("Load data exists already (tenant load-001); use a fresh database.")
        rng = random.Random(options["seed"])  # noqa: S311 - load data, reproducible
        password = make_password("demo")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        big_total = min(total, max(big_open * 2, total // tenants)) if tenants > 1 else total
        per_rest = (total - big_total) // max(tenants - 1, 1)
        bar = tqdm(total=total, unit="ticket", unit_scale=True, desc="seed_load")
        for i in range(1, tenants + 1):
            count = big_total if i == 1 else per_rest
            if i == tenants and tenants > 1:
                count = total - big_total - per_rest * (tenants - 2)
            open_count = min(big_open, count) if i == 1 else int(count * OPEN_SHARE)
            with transaction.atomic():
                self._tenant(i, count, open_count, rng, password, now)
            bar.update(count)
        bar.close()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        self.stdout.write(self.style.SUCCESS(f"Seeded {tenants} tenants, {total} tickets."))

    def _tenant(
        self,
        i: int,
        count: int,
        open_count: int,
        rng: random.Random,
        password: str,
        now: dt.datetime,
    ) -> None:
        slug = f"load-{i:03d}"
        tenant = Tenant.objects.create(slug=slug, name=f"Load {i:03d}", ticket_prefix=f"L{i}")
        with scope(tenant=tenant):
            users = User.objects.bulk_create(
                [
                    User(
                        username=f"{slug}-agent" if a == 0 else f"{slug}-agent{a}",
                        password=password,
                    )
                    for a in range(AGENTS)
                ]
            )
            users = list(User.objects.filter(username__startswith=f"{slug}-agent").order_by("pk"))
            Membership.objects.bulk_create(
                [Membership(tenant=tenant, user=u, role=Role.AGENT) for u in users]
            )
            calendar = Calendar.objects.create(
                tenant=tenant, name="Office", config=OFFICE, is_default=True
            )
            priorities = [
                Priority.objects.create(tenant=tenant, key=f"P{r}", name=f"P{r}", rank=r)
                for r in (1, 2, 3)
            ]
            policy = SLAPolicy.objects.create(tenant=tenant, name="Standard", calendar=calendar)
            fr = SLATarget.objects.create(
                tenant=tenant, policy=policy, metric=Metric.FIRST_RESPONSE, amount=4,
                unit=TargetUnit.HOURS,
            )  # fmt: skip
            res = SLATarget.objects.create(
                tenant=tenant, policy=policy, metric=Metric.RESOLUTION, amount=2,
                unit=TargetUnit.WORKING_DAYS,
            )  # fmt: skip
            EscalationRule.objects.create(
                tenant=tenant, name="Warn", metric=Metric.FIRST_RESPONSE, threshold_percent=75,
                notify_assignee=True,
            )  # fmt: skip
            orgs = Organisation.objects.bulk_create(
                [Organisation(tenant=tenant, name=f"Customer {o}") for o in range(CONTACTS // 4)]
            )
            contacts = Contact.objects.bulk_create(
                [
                    Contact(
                        tenant=tenant,
                        organisation=orgs[c % len(orgs)],
                        name=f"Contact {c}",
                        email=f"contact{c}@customer{c % len(orgs)}.example",
                    )
                    for c in range(CONTACTS)
                ]
            )
            TicketCounter.objects.create(tenant=tenant, last_number=1000 + count)
            self._tickets(
                tenant, count, open_count, rng, now, calendar, priorities, policy, fr, res,
                users, contacts,
            )  # fmt: skip

    def _tickets(
        self,
        tenant: Tenant,
        count: int,
        open_count: int,
        rng: random.Random,
        now: dt.datetime,
        calendar: Calendar,
        priorities: list[Priority],
        policy: SLAPolicy,
        fr: SLATarget,
        res: SLATarget,
        users: list[User],
        contacts: list[Contact],
    ) -> None:
        engine = calendar.engine
        now_s = int(now.timestamp())
        # Open tickets arrived in the last 10 days; closed ones over the year before.
        received = np.empty(count, dtype=np.int64)
        received[:open_count] = now_s - np.array(
            [rng.randint(60, 10 * 86400) for _ in range(open_count)], dtype=np.int64
        )
        received[open_count:] = now_s - np.array(
            [rng.randint(10 * 86400, 365 * 86400) for _ in range(count - open_count)],
            dtype=np.int64,
        )
        paused = np.array([rng.random() < 0.15 for _ in range(open_count)], dtype=bool)
        pause_at = np.minimum(received[:open_count] + 1800, now_s)
        res_budget = np.array(
            [
                engine.between(
                    dt.datetime.fromtimestamp(int(r), dt.UTC),
                    engine.add_days(dt.datetime.fromtimestamp(int(r), dt.UTC), res.amount),
                ).total_seconds()
                for r in received[:open_count]
            ]
        )

        def segments(k: int) -> list[list[int | None]]:
            r = int(received[k])
            return [[r, int(pause_at[k])]] if paused[k] else [[r, None]]

        figures = {}
        for metric, budgets, threshold in (
            (Metric.FIRST_RESPONSE, np.full(open_count, FR_BUDGET), 75),
            (Metric.RESOLUTION, res_budget, 100),
        ):
            rows = [BulkRow(segments(k), float(budgets[k]), threshold) for k in range(open_count)]
            figures[metric] = (rows, clock_figures_many(rows=rows, engine=engine, now=now))
        fr_due = figures[Metric.FIRST_RESPONSE][1].due_epoch
        res_due = figures[Metric.RESOLUTION][1].due_epoch
        next_due = np.where(paused, np.nan, np.fmin(fr_due, res_due))
        next_cal = calendar.pk
        # As if the sweep had run all along: thresholds already passed were acted on (Alert
        # rows), and each running clock waits for its next threshold in the future.
        fr75 = engine.add_many(received[:open_count].astype(np.float64), FR_BUDGET * 0.75)
        marks = {
            Metric.FIRST_RESPONSE: [(75, fr75), (100, fr_due)],
            Metric.RESOLUTION: [(100, res_due)],
        }
        alerts = {}  # metric -> each clock's next threshold in the future (NaN: none)
        for metric, thresholds in marks.items():
            alert = np.full(open_count, np.nan)
            for _percent, moments in reversed(thresholds):
                alert = np.where(moments > now_s, moments, alert)
            alerts[metric] = np.where(paused, np.nan, alert)
        next_alert = np.fmin(alerts[Metric.FIRST_RESPONSE], alerts[Metric.RESOLUTION])

        statuses_open = [Status.NEW, Status.OPEN, Status.OPEN, Status.ON_HOLD]
        ticket_rows = []
        schedule_rows = []
        for k in range(count):
            number = 1001 + k
            is_open = k < open_count
            if is_open:
                status = Status.PENDING if paused[k] else rng.choice(statuses_open)
            else:
                status = rng.choice([Status.CLOSED, Status.CLOSED, Status.SOLVED])
            r = _ts(received[k])
            due = next_due[k] if is_open else np.nan
            ticket_rows.append(
                (
                    tenant.pk,
                    number,
                    f"{tenant.ticket_prefix}-{number}",
                    f"Load ticket {number} about {rng.choice(CATEGORIES)}",
                    "",
                    contacts[k % len(contacts)].pk,
                    contacts[k % len(contacts)].organisation_id,
                    rng.choice(CHANNELS),
                    rng.choice(CATEGORIES),
                    rng.choice(priorities).pk,
                    status,
                    rng.choice(users).pk if rng.random() < 0.6 else None,
                    rng.choice([1, 1, 1, 2, 3]),
                    False,
                    False,
                    "",
                    policy.pk,
                    "",
                    "[]",
                    r,
                    r,
                    r,
                    None,
                    None if is_open else r + dt.timedelta(hours=5),
                    None if is_open or status == Status.SOLVED else r + dt.timedelta(days=2),
                    1,
                )
            )
            schedule_rows.append(
                (
                    tenant.pk,
                    None if due != due else _ts(due),
                    None if due != due else next_cal,
                    None if not is_open or next_alert[k] != next_alert[k] else _ts(next_alert[k]),
                )
            )
        _copy(
            "tickets_ticket",
            [
                "tenant_id", "number", "reference", "subject", "description", "requester_id",
                "organisation_id", "channel", "category", "priority_id", "status", "assignee_id",
                "support_line", "billable", "billing_accepted", "vendor_reference",
                "sla_policy_id", "entitlement_reasons", "entitlement_reason_codes", "received_at",
                "created_at",
                "updated_at", "first_responded_at", "solved_at", "closed_at", "version",
            ],
            ticket_rows,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT number, id FROM tickets_ticket WHERE tenant_id = %s", [tenant.pk]
            )
            ids = dict(cursor.fetchall())
        _copy(
            "tickets_ticketschedule",
            ["ticket_id", "tenant_id", "due_at", "calendar_id", "alert_at"],
            [(ids[1001 + k], *row) for k, row in enumerate(schedule_rows)],
        )
        event_rows = [
            (tenant.pk, ids[1001 + k], "created", _ts(received[k]), False, "email", "", "new",
             True, "{}")
            for k in range(count)
        ]  # fmt: skip
        # The history must explain the state: a paused clock needs its "pending" event.
        for k in range(open_count):
            status = ticket_rows[k][10]
            if status == Status.NEW:
                continue
            at = int(pause_at[k]) if paused[k] else int(received[k]) + 60
            event_rows.append(
                (tenant.pk, ids[1001 + k], "status", _ts(min(at, now_s)), True, "portal", "new",
                 status, True, "{}")
            )  # fmt: skip
        _copy(
            "tickets_ticketevent",
            ["tenant_id", "ticket_id", "kind", "at", "by_staff", "channel", "old_value",
             "new_value", "is_public", "data"],
            event_rows,
        )  # fmt: skip
        clock_rows = []
        alert_rows = []
        for metric, target in ((Metric.FIRST_RESPONSE, fr), (Metric.RESOLUTION, res)):
            rows, fig = figures[metric]
            for k in range(open_count):
                state = "paused" if paused[k] else "running"
                due = fig.due_epoch[k]
                breached = fig.breached_epoch[k]
                alert = alerts[metric][k]
                if not paused[k]:
                    for percent, instants in marks[metric]:
                        moment = float(instants[k])
                        if moment <= now_s:
                            alert_rows.append(
                                (tenant.pk, ids[1001 + k], metric, percent,
                                 None if due != due else _ts(due), _ts(moment))
                            )  # fmt: skip
                clock_rows.append(
                    (
                        tenant.pk,
                        ids[1001 + k],
                        metric,
                        target.pk,
                        calendar.pk,
                        state,
                        _ts(received[k]),
                        rows[k].budget_seconds,
                        float(fig.elapsed_seconds[k]),
                        json.dumps(rows[k].segments),
                        None if paused[k] or due != due else _ts(due),
                        None,
                        None if breached != breached else _ts(breached),
                        None,
                        None if paused[k] or alert != alert else _ts(alert),
                        now,
                    )
                )
        _copy(
            "sla_clock",
            ["tenant_id", "ticket_id", "metric", "target_id", "calendar_id", "state",
             "started_at", "budget_seconds", "elapsed_seconds", "segments", "due_at",
             "stopped_at", "breached_at", "met", "next_alert_at", "computed_at"],
            clock_rows,
        )  # fmt: skip
        _copy(
            "sla_alert",
            ["tenant_id", "ticket_id", "metric", "threshold_percent", "due_at", "fired_at"],
            alert_rows,
        )


def _ts(epoch: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC)


def _copy(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, executemany elsewhere (small trial runs on SQLite)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 - fixed names
            rows,
        )
