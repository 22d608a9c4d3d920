"""The reports' reads: the SLA outcome counts every SLA figure comes from, and the time
report's aggregation.

**SLA outcomes** (:func:`clock_outcomes`): met and missed counts of every metric in
:data:`sla.metrics.METRICS`, over the clocks of the tickets received in a range, grouped by
one column (organisation, priority, month). The monthly report and the dashboard both count
through it, so a month's figure is the same on both (a test compares them).

**Time**: logged time per agent and organisation in one month.

``TimeEntry.work_date`` is the day the work was done, in the tenant's time zone (the day the
agent chose, or today there when logged without one), so a month is a plain date range and
no instant needs converting. The whole month is one grouped query, whatever the number of
entries, agents or organisations; the per-agent, per-organisation and overall totals are
summed from its rows in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Count, Expression, F, FilteredRelation, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from sla.metrics import METRICS
from sla.models import Clock, ClockState
from supportdesk.models import Tenant, User
from tickets.choices import Rating
from tickets.models import ReviewStatus, TimeEntry


@dataclass
class Outcome:
    """How many of one metric's targets were met and missed in a slice of a period."""

    met: int = 0
    missed: int = 0

    @property
    def measured(self) -> int:
        return self.met + self.missed

    @property
    def rate(self) -> float | None:
        """Share of decided targets that were met, in percent (None: none decided)."""
        return _rate(self.met, self.missed)

    def add(self, other: Outcome) -> None:
        self.met += other.met
        self.missed += other.missed


def _rate(good: int, bad: int) -> float | None:
    measured = good + bad
    return None if measured == 0 else 100.0 * good / measured


Outcomes = dict[str, Outcome]
"""One :class:`Outcome` per metric, keyed and ordered as :data:`sla.metrics.METRICS`."""


def outcomes_empty() -> Outcomes:
    return {key: Outcome() for key in METRICS}


def instant_bounds(
    *, tenant: Tenant, start: dt.date, end: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """The days [start, end) as an instant range in the tenant's time zone."""
    zone = ZoneInfo(tenant.time_zone)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=zone),
        dt.datetime.combine(end, dt.time(), tzinfo=zone),
    )


def clock_missed(metric: str, now: dt.datetime) -> Q:
    """A clock of ``metric`` whose current target was missed: met False, or still running
    past due (the sweep stamps ``breached_at`` within a minute, but the figures must not
    depend on it having run, so a running clock is also judged by its due time)."""
    # A stopped clock with ``met`` empty is a response nobody needed (solved without a
    # public reply before it was due): neither met nor missed, so out of the rate.
    overdue = (
        Q(met__isnull=True)
        & ~Q(state=ClockState.STOPPED)
        & (Q(breached_at__isnull=False) | Q(due_at__lt=now))
    )
    return Q(metric=metric) & (Q(met=False) | overdue)


def clock_missed_any(metric: str, now: dt.datetime) -> Q:
    """A clock of ``metric`` that missed its current target or one of its earlier cycles."""
    missed = clock_missed(metric, now)
    if METRICS[metric].cycles is not None:
        missed |= Q(metric=metric, cycles_missed__gt=0)
    return missed


def _decided(metric: str, now: dt.datetime) -> dict[str, Count | Coalesce]:
    """Met and missed counts of one metric's clocks. A cycle metric's clock adds the
    outcomes of its earlier cycles."""
    mine = Q(metric=metric)
    counts: dict[str, Count | Coalesce] = {
        f"{metric}_met": Count("id", filter=mine & Q(met=True)),
        f"{metric}_missed": Count("id", filter=clock_missed(metric, now)),
    }
    if METRICS[metric].cycles is not None:
        counts[f"{metric}_met_before"] = Coalesce(Sum("cycles_met", filter=mine), Value(0))
        counts[f"{metric}_missed_before"] = Coalesce(Sum("cycles_missed", filter=mine), Value(0))
    return counts


def received_clocks(
    *, tenant: Tenant, start: dt.datetime, end: dt.datetime, tickets: Q | None = None
) -> QuerySet[Clock]:
    """The clocks of the tickets received in [start, end), of those matching ``tickets`` (a
    condition on the ticket, written from the clock: ``ticket__...``) when given.

    Joined to their tickets by tenant and id: PostgreSQL reads the range's tickets of this
    tenant and each one's clocks by the (tenant, ticket, metric) key, where a join on the
    ticket alone read every tenant's clocks (a Seq Scan, 15x slower for a small tenant inside
    a big database). Each clock counted once: no DISTINCT to spill to disk.
    """
    clocks = Clock.objects.filter(
        ticket__tenant=tenant, ticket__received_at__gte=start, ticket__received_at__lt=end
    )
    return clocks if tickets is None else clocks.filter(tickets)


def clock_outcomes(
    clocks: QuerySet[Clock],
    *,
    by: str,
    now: dt.datetime,
    expression: Expression | None = None,
    extra: tuple[str, ...] = (),
) -> list[tuple[dict[str, object], Outcomes]]:
    """Every metric's outcomes over ``clocks`` grouped by the column ``by`` (or by
    ``expression``, annotated as ``by``), in one query: (the group's values, its outcomes).

    ``extra`` names columns read beside ``by`` (a name for its key). A target still running
    past its due time at ``now`` counts as missed.
    """
    counts: dict[str, Count | Coalesce] = {}
    for metric in METRICS:
        counts.update(_decided(metric, now))
    if expression is not None:
        clocks = clocks.annotate(**{by: expression})
    grouped = []
    for entry in clocks.values(by, *extra).annotate(**counts).order_by():
        outcomes = {
            metric: Outcome(
                met=entry[f"{metric}_met"] + entry.get(f"{metric}_met_before", 0),
                missed=entry[f"{metric}_missed"] + entry.get(f"{metric}_missed_before", 0),
            )
            for metric in METRICS
        }
        grouped.append(({k: entry[k] for k in (by, *extra)}, outcomes))
    return grouped


def duration_metrics() -> list[str]:
    """The metrics whose time distribution the reports draw: the single-shot ones (first
    response, resolution). A cycle metric's clock keeps the time of its current cycle only
    (earlier cycles are counts), so its distribution would not be one of all its targets."""
    return [key for key, rule in METRICS.items() if rule.cycles is None]


@dataclass(frozen=True)
class Band:
    """Targets that took more than ``low`` and at most ``high`` percent of their budget
    (``low`` 0 includes 0; ``high`` None: no upper bound), in business time."""

    key: str
    low: int
    high: int | None

    @property
    def label(self) -> str:
        if self.high is None:
            return f"> {self.low} %"
        return f"{self.low}–{self.high} %"

    @property
    def within(self) -> bool:
        """Inside the target: a stopped clock is met exactly when it used at most 100 %."""
        return self.high is not None and self.high <= 100


BANDS = (
    Band("0", 0, 25),
    Band("25", 25, 50),
    Band("50", 50, 75),
    Band("75", 75, 100),
    Band("100", 100, 125),
    Band("125", 125, 150),
    Band("150", 150, 200),
    Band("200", 200, None),
)
"""The distributions' bands: business time used over the business time allowed."""

BAND_KEYS = {band.key: band for band in BANDS}


def clock_timed(metric: str) -> Q:
    """A clock of ``metric`` whose target was reached and judged (stopped, met or missed):
    its business time used is final. A running clock's time is not; a response nobody
    needed has no outcome."""
    return Q(metric=metric, state=ClockState.STOPPED, met__isnull=False, budget_seconds__gt=0)


def clock_in_band(metric: str, band: Band | None) -> Q:
    """A timed clock of ``metric`` in ``band`` (any band when None)."""
    condition = clock_timed(metric)
    if band is not None and band.low > 0:
        condition &= Q(elapsed_seconds__gt=F("budget_seconds") * band.low / 100.0)
    if band is not None and band.high is not None:
        condition &= Q(elapsed_seconds__lte=F("budget_seconds") * band.high / 100.0)
    return condition


Distribution = dict[str, list[tuple[Band, int]]]
"""Per duration metric, how many targets fell in each band, in :data:`BANDS` order."""


def clock_distribution(clocks: QuerySet[Clock]) -> Distribution:
    """How long every duration metric's reached targets took over ``clocks``, as a share of
    each one's own target (so priorities with different targets share one scale): one
    query."""
    metrics = duration_metrics()
    counts = clocks.aggregate(
        **{
            f"{metric}_{band.key}": Count("id", filter=clock_in_band(metric, band))
            for metric in metrics
            for band in BANDS
        }
    )
    return {
        metric: [(band, counts[f"{metric}_{band.key}"] or 0) for band in BANDS]
        for metric in metrics
    }


FEEDBACK_KEYS = ("good", "bad", "done", "overdue")
"""Ratings (good, bad) and post-incident reviews (done; a draft past due) of tickets."""


def feedback_relations(tenant: Tenant) -> dict[str, FilteredRelation]:
    """The ticket's rating and review as ``rated`` and ``reviewed`` (one row per ticket each,
    so counting over them counts tickets). The joins name the tenant (an index that leads
    with it; one shard on Citus)."""
    return {
        "rated": FilteredRelation("satisfaction", condition=Q(satisfaction__tenant=tenant)),
        "reviewed": FilteredRelation("review", condition=Q(review__tenant=tenant)),
    }


def feedback_condition(key: str, now: dt.datetime) -> Q:
    """Tickets annotated with :func:`feedback_relations` rated ``good`` or ``bad``, or with
    a review ``done`` or ``overdue`` (still a draft past its due time at ``now``)."""
    conditions = {
        "good": Q(rated__rating=Rating.GOOD),
        "bad": Q(rated__rating=Rating.BAD),
        "done": Q(reviewed__status=ReviewStatus.DONE),
        "overdue": Q(reviewed__status=ReviewStatus.DRAFT, reviewed__due_at__lt=now),
    }
    return conditions[key]


def feedback_counts(now: dt.datetime) -> dict[str, Count]:
    """Count each of :data:`FEEDBACK_KEYS` over tickets annotated with
    :func:`feedback_relations`: what the monthly report and the dashboard both count."""
    relation = {"good": "rated", "bad": "rated", "done": "reviewed", "overdue": "reviewed"}
    return {key: Count(relation[key], filter=feedback_condition(key, now)) for key in FEEDBACK_KEYS}


def month_following(month: dt.date) -> dt.date:
    """The first day of the month after ``month`` (itself a first day)."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_preceding(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


@dataclass
class TimeTotal:
    """Minutes logged in one slice of the month: billable, not billable, and entries."""

    label: str
    billable: int = 0
    non_billable: int = 0
    entries: int = 0

    @property
    def minutes(self) -> int:
        return self.billable + self.non_billable

    def add(self, other: TimeTotal) -> None:
        self.billable += other.billable
        self.non_billable += other.non_billable
        self.entries += other.entries


@dataclass
class TimeRow(TimeTotal):
    """One agent's time for one organisation (``organisation_id`` None: tickets without one)."""

    agent_id: int = 0
    agent: str = ""
    organisation_id: int | None = None
    organisation: str = ""


@dataclass
class TimeReport:
    month: dt.date
    rows: list[TimeRow]
    by_agent: list[TimeTotal] = field(default_factory=list)
    by_organisation: list[TimeTotal] = field(default_factory=list)
    total: TimeTotal = field(default_factory=lambda: TimeTotal(label=""))

    @property
    def period_label(self) -> str:
        return self.month.strftime("%Y-%m")


def _agent_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _totals(rows: Iterable[TimeRow], key: str, label: str) -> list[TimeTotal]:
    grouped: dict[object, TimeTotal] = {}
    for row in rows:
        total = grouped.setdefault(getattr(row, key), TimeTotal(label=getattr(row, label)))
        total.add(row)
    return sorted(grouped.values(), key=lambda t: t.label.casefold())


def time_report_for_month(
    *, tenant: Tenant, month: dt.date, agent: User | None = None
) -> TimeReport:
    """Logged time of ``tenant`` in the month starting ``month``; only ``agent``'s when given.

    Caller holds the tenant's scope and has checked who may read whose time.
    """
    entries = TimeEntry.objects.filter(
        tenant=tenant, work_date__gte=month, work_date__lt=month_following(month)
    )
    if agent is not None:
        entries = entries.filter(agent=agent)
    grouped = (
        entries.values(
            "agent_id",
            "agent__first_name",
            "agent__last_name",
            "agent__username",
            "ticket__organisation_id",
            "ticket__organisation__name",
        )
        .annotate(
            billable_minutes=Sum("minutes", filter=Q(billable=True), default=0),
            non_billable_minutes=Sum("minutes", filter=Q(billable=False), default=0),
            entry_count=Count("id"),
        )
        .order_by()
    )
    no_organisation = _("No organisation")
    rows = [
        TimeRow(
            label="",
            billable=g["billable_minutes"],
            non_billable=g["non_billable_minutes"],
            entries=g["entry_count"],
            agent_id=g["agent_id"],
            agent=_agent_name(g["agent__first_name"], g["agent__last_name"], g["agent__username"]),
            organisation_id=g["ticket__organisation_id"],
            organisation=g["ticket__organisation__name"] or no_organisation,
        )
        for g in grouped
    ]
    rows.sort(key=lambda r: (r.agent.casefold(), r.organisation_id is None, r.organisation))
    total = TimeTotal(label=_("Total"))
    for row in rows:
        total.add(row)
    return TimeReport(
        month=month,
        rows=rows,
        by_agent=_totals(rows, "agent_id", "agent"),
        by_organisation=_totals(rows, "organisation_id", "organisation"),
        total=total,
    )
