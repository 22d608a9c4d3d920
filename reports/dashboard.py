"""The SLA dashboard's figures: attainment per metric by month, breaches by priority and by
organisation, how long targets took (business time over the target), the backlog by age,
volume, ratings and post-incident reviews, and the tickets behind each of them.

Every SLA figure counts through :func:`reports.selectors.clock_outcomes`, and ratings and
reviews through :func:`reports.selectors.feedback_counts`, as the monthly report does, so a
month reads the same on both. The dashboard is seven aggregate queries, whatever the number
of tickets, organisations or priorities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract, Organisation, SupportPlan
from sla.metrics import METRICS
from sla.models import Clock, Priority
from supportdesk.models import Tenant, User
from tickets.models import ACTIVE_STATUSES, Ticket

from .selectors import (
    BAND_KEYS,
    FEEDBACK_KEYS,
    Distribution,
    Outcomes,
    clock_distribution,
    clock_in_band,
    clock_missed_any,
    clock_outcomes,
    duration_metrics,
    feedback_condition,
    feedback_counts,
    feedback_relations,
    instant_bounds,
    month_following,
    outcomes_empty,
    received_clocks,
)

TREND_MONTHS = 12
ORGANISATIONS_SHOWN = 10
"""The breach chart's organisations: the ones with the most breaches (a bar each)."""


@dataclass(frozen=True)
class Period:
    """Days [start, end) in the tenant's calendar; ``kind`` is month, quarter or range."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.isoformat()} – {self.last_day.isoformat()}"

    @classmethod
    def month(cls, first: dt.date) -> Period:
        return cls("month", first, month_following(first))


@dataclass(frozen=True)
class TicketFilters:
    """The dashboard's filters; each one empty means every ticket."""

    organisation: Organisation | None = None
    plan: SupportPlan | None = None
    priority: Priority | None = None
    category: str = ""
    channel: str = ""
    line: int | None = None
    agent: User | None = None

    def condition(self, prefix: str = "") -> Q:
        """The filters as a condition on tickets, or on rows reaching a ticket by ``prefix``
        (``"ticket__"`` from a clock)."""
        given: dict[str, object] = {}
        if self.organisation is not None:
            given["organisation"] = self.organisation
        if self.plan is not None:
            # A subquery, not a join: an organisation with two contracts on the plan must not
            # count its tickets twice.
            given["organisation__in"] = Contract.objects.filter(plan=self.plan).values(
                "organisation"
            )
        if self.priority is not None:
            given["priority"] = self.priority
        if self.category:
            given["category"] = self.category
        if self.channel:
            given["channel"] = self.channel
        if self.line is not None:
            given["support_line"] = self.line
        if self.agent is not None:
            given["assignee"] = self.agent
        return Q(**{prefix + key: value for key, value in given.items()})


@dataclass(frozen=True)
class AgeBucket:
    """Open tickets received at least ``min_days`` and less than ``max_days`` ago."""

    key: str
    label: Promise
    min_days: int
    max_days: int | None

    def condition(self, now: dt.datetime) -> Q:
        condition = Q(received_at__lte=now - dt.timedelta(days=self.min_days))
        if self.max_days is not None:
            condition &= Q(received_at__gt=now - dt.timedelta(days=self.max_days))
        return condition


AGE_BUCKETS = (
    AgeBucket("day", _("Under a day"), 0, 1),
    AgeBucket("week", _("1–7 days"), 1, 7),
    AgeBucket("month", _("1–4 weeks"), 7, 28),
    AgeBucket("older", _("Over 4 weeks"), 28, None),
)
"""The backlog's ages, in calendar days since the ticket was received."""

AGE_KEYS = {bucket.key: bucket for bucket in AGE_BUCKETS}


@dataclass
class Slice:
    """One bar group of a breach chart: a priority or an organisation (``key`` its pk)."""

    key: int | None
    label: str
    outcomes: Outcomes = field(default_factory=outcomes_empty)
    rank: int = 0

    @property
    def missed(self) -> int:
        return sum(o.missed for o in self.outcomes.values())


@dataclass
class Dashboard:
    period: Period
    filters: TicketFilters
    total: Outcomes
    trend: list[tuple[dt.date, Outcomes]]
    by_priority: list[Slice]
    by_organisation: list[Slice]
    backlog: list[tuple[AgeBucket, int]]
    volume: list[tuple[str, str, int]] = field(default_factory=list)
    """Tickets received in the period: (channel, category, how many), by channel."""
    durations: Distribution = field(default_factory=dict)
    """Per duration metric, the period's reached targets by share of the target used."""
    feedback: dict[str, int] = field(default_factory=dict)
    """The period's tickets rated good and bad, with a review done and overdue."""


def _months_before(last: dt.date, count: int) -> list[dt.date]:
    months = [last.replace(day=1)]
    while len(months) < count:
        months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
    return months


def _slices(
    clocks: QuerySet[Clock],
    *,
    key: str,
    name: str,
    now: dt.datetime,
    empty: str | Promise,
    rank: str = "",
) -> list[Slice]:
    extra = (name, rank) if rank else (name,)
    return [
        Slice(
            key=group[key],  # type: ignore[arg-type]
            label=str(group[name] or empty),
            outcomes=outcomes,
            rank=int(group[rank] or 0) if rank else 0,  # type: ignore[call-overload]
        )
        for group, outcomes in clock_outcomes(clocks, by=key, extra=extra, now=now)
    ]


def dashboard_build(
    *, tenant: Tenant, period: Period, filters: TicketFilters, now: dt.datetime
) -> Dashboard:
    """The dashboard for ``period`` and ``filters`` as it stands at ``now``. Caller holds
    the tenant scope. Seven aggregate queries, whatever the number of rows."""
    zone = ZoneInfo(tenant.time_zone)
    condition = filters.condition("ticket__")
    start, end = instant_bounds(tenant=tenant, start=period.start, end=period.end)
    clocks = received_clocks(tenant=tenant, start=start, end=end, tickets=condition)

    months = _months_before(period.last_day, TREND_MONTHS)
    trend_start, trend_end = instant_bounds(
        tenant=tenant, start=months[0], end=month_following(months[-1])
    )
    by_month = {month: outcomes_empty() for month in months}
    trend_clocks = received_clocks(
        tenant=tenant, start=trend_start, end=trend_end, tickets=condition
    )
    for group, outcomes in clock_outcomes(
        trend_clocks,
        by="month",
        expression=TruncMonth("ticket__received_at", tzinfo=zone),
        now=now,
    ):
        value = group["month"]
        if isinstance(value, dt.datetime):
            value = value.astimezone(zone).date()
        if value in by_month:
            by_month[value] = outcomes  # type: ignore[index]

    by_priority = _slices(
        clocks,
        key="ticket__priority",
        name="ticket__priority__name",
        now=now,
        empty=_("No priority"),
        rank="ticket__priority__rank",
    )
    # In the tenant's order of urgency (P1 first), as the queue and the priority lists show them.
    by_priority.sort(key=lambda s: (s.key is None, s.rank, s.label.casefold()))
    total = outcomes_empty()
    for slice_ in by_priority:  # every clock has one priority or none: the sum is the period's
        for metric, outcome in slice_.outcomes.items():
            total[metric].add(outcome)

    by_organisation = [
        s
        for s in _slices(
            clocks,
            key="ticket__organisation",
            name="ticket__organisation__name",
            now=now,
            empty=_("No organisation"),
        )
        if s.missed
    ]
    by_organisation.sort(key=lambda s: (-s.missed, s.label.casefold()))

    received = Ticket.objects.filter(
        filters.condition(), received_at__gte=start, received_at__lt=end
    )
    volume = [
        (row["channel"], row["category"], row["count"])
        for row in received.values("channel", "category")
        .annotate(count=Count("id"))
        .order_by("channel", "category")
    ]

    feedback = received.annotate(**feedback_relations(tenant)).aggregate(**feedback_counts(now))

    open_tickets = Ticket.objects.filter(filters.condition(), status__in=ACTIVE_STATUSES)
    ages = open_tickets.aggregate(
        **{b.key: Count("id", filter=b.condition(now)) for b in AGE_BUCKETS}
    )
    return Dashboard(
        period=period,
        filters=filters,
        total=total,
        trend=list(by_month.items()),
        by_priority=by_priority,
        by_organisation=by_organisation[:ORGANISATIONS_SHOWN],
        backlog=[(bucket, ages[bucket.key] or 0) for bucket in AGE_BUCKETS],
        volume=volume,
        durations=clock_distribution(clocks),
        feedback={key: feedback[key] or 0 for key in FEEDBACK_KEYS},
    )


@dataclass(frozen=True)
class DrillDown:
    """Which tickets a chart's bar, point or whole chart stands for.

    ``metric`` with ``missed``: received in the period with that metric missed (any metric
    when ``metric`` is empty); ``age``: open now and of that age ("all": every open one);
    ``band`` (with ``metric``): received in the period with that metric's target reached in
    that share of its budget ("all": in any); ``feedback``: received in the period and rated
    good or bad, or with a review done or overdue ("rated", "reviewed": either)."""

    metric: str = ""
    missed: bool = False
    age: str = ""
    band: str = ""
    feedback: str = ""


FEEDBACK_GROUPS = {"rated": ("good", "bad"), "reviewed": ("done", "overdue")}
"""A whole feedback chart's drill-down: the keys its bars count."""


TICKETS_SHOWN = 200


def dashboard_tickets(
    *,
    tenant: Tenant,
    period: Period,
    filters: TicketFilters,
    drill: DrillDown,
    now: dt.datetime,
) -> QuerySet[Ticket]:
    """The tickets behind a chart, newest first. Caller holds the tenant scope."""
    tickets = Ticket.objects.filter(filters.condition())
    if drill.age:
        tickets = tickets.filter(status__in=ACTIVE_STATUSES)
        if drill.age in AGE_KEYS:
            tickets = tickets.filter(AGE_KEYS[drill.age].condition(now))
    else:
        start, end = instant_bounds(tenant=tenant, start=period.start, end=period.end)
        tickets = tickets.filter(received_at__gte=start, received_at__lt=end)
        if drill.missed:
            metrics = [drill.metric] if drill.metric else list(METRICS)
            missed = Q()
            for metric in metrics:
                missed |= clock_missed_any(metric, now)
            tickets = tickets.filter(pk__in=Clock.objects.filter(missed).values("ticket"))
        if drill.band:
            band = BAND_KEYS.get(drill.band)  # "all": reached in any share of the target
            timed = Q()
            for metric in [drill.metric] if drill.metric else duration_metrics():
                timed |= clock_in_band(metric, band)
            tickets = tickets.filter(pk__in=Clock.objects.filter(timed).values("ticket"))
        if drill.feedback:
            given = Q()
            for key in FEEDBACK_GROUPS.get(drill.feedback, (drill.feedback,)):
                given |= feedback_condition(key, now)
            tickets = tickets.annotate(**feedback_relations(tenant)).filter(given)
    return tickets.select_related("organisation", "priority", "assignee").order_by("-received_at")
