"""The time report's aggregation: logged time per agent and organisation in one month.

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

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from supportdesk.models import Tenant, User
from tickets.models import TimeEntry


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
