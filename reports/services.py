"""Monthly SLA reports: every ticket received in a month, whether its targets were met.

Synerity's customers on Silver and Guld get one each month ("all tickets handled, whether
the SLA was met, split between questions and incidents"); managers read the same figures for
the whole tenant. A report is a handful of aggregate queries, whatever the ticket count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Count, FilteredRelation, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contracts.models import Contact, Organisation
from contracts.services import contract_for_organisation, organisation_has_feature
from sla.metrics import METRICS
from supportdesk.models import Membership, Role, Tenant
from tickets.choices import Category, Rating, Status
from tickets.mail.models import OutboundKind
from tickets.mail.services import mail_enqueue
from tickets.models import Ticket

from .selectors import (
    Outcome,
    Outcomes,
    _rate,
    clock_outcomes,
    instant_bounds,
    month_following,
    outcomes_empty,
    received_clocks,
)

MONTHLY_REPORTS = "monthly_reports"
"""The plan feature that entitles an organisation to a report by e-mail."""


@dataclass
class ReportRow:
    """Counts for one slice of a month: an organisation, a category, or the total.

    ``outcomes`` holds every metric's met and missed counts, keyed as :data:`sla.metrics.
    METRICS` (pages, CSV and mail iterate over it)."""

    label: str
    received: int = 0
    questions: int = 0
    incidents: int = 0
    other: int = 0
    solved: int = 0
    rated_good: int = 0
    rated_bad: int = 0
    outcomes: Outcomes = field(default_factory=outcomes_empty)

    @property
    def outcome_list(self) -> list[tuple[str, Outcome]]:
        """(the metric's "... met" heading, its outcome), in the registry's order."""
        return [(str(METRICS[k].met_label), o) for k, o in self.outcomes.items()]

    @property
    def rated(self) -> int:
        return self.rated_good + self.rated_bad

    @property
    def satisfaction_rate(self) -> float | None:
        """Share of rated tickets the customer rated good, in percent (None: none rated)."""
        return _rate(self.rated_good, self.rated_bad)

    def add(self, other: ReportRow) -> None:
        for name in (
            "received", "questions", "incidents", "other", "solved", "rated_good", "rated_bad",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, outcome in other.outcomes.items():
            self.outcomes[key].add(outcome)


@dataclass
class SLAReport:
    tenant: Tenant
    month: dt.date
    organisation: Organisation | None
    total: ReportRow
    rows: list[ReportRow] = field(default_factory=list)  # per organisation (tenant-wide report)

    @property
    def period_label(self) -> str:
        return self.month.strftime("%Y-%m")


def month_start(value: str | None, *, tenant: Tenant, today: dt.date) -> dt.date:
    """The first day of the month named ``YYYY-MM``; the previous month when empty.

    Raises ValueError with a readable message for anything else.
    """
    if not value:
        first = today.replace(day=1)
        return (first - dt.timedelta(days=1)).replace(day=1)
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a date, no time
    except ValueError:
        raise ValueError(f"month must look like 2026-10, not {value!r}") from None


def month_bounds(*, tenant: Tenant, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as an instant range [start, end) in the tenant's time zone."""
    return instant_bounds(tenant=tenant, start=month, end=month_following(month))


def sla_report_build(
    *,
    tenant: Tenant,
    month: dt.date,
    organisation: Organisation | None = None,
    now: dt.datetime | None = None,
) -> SLAReport:
    """The report for ``month`` (first day), for one organisation or the whole tenant, as it
    stands at ``now``. Caller holds the tenant scope. Runs three aggregate queries.

    Satisfaction counts the ratings of the month's tickets (one per ticket, the latest answer).
    """
    now = now or timezone.now()
    start, end = month_bounds(tenant=tenant, month=month)
    tickets = Ticket.objects.filter(received_at__gte=start, received_at__lt=end)
    if organisation is not None:
        tickets = tickets.filter(organisation=organisation)

    rows: dict[int | None, ReportRow] = defaultdict(lambda: ReportRow(label=""))
    # The rating is one row per ticket (a one-to-one join): counted in the same query.
    # The join names the tenant (an index that leads with it; one shard on Citus).
    rated = FilteredRelation("satisfaction", condition=Q(satisfaction__tenant=tenant))
    by_category = (
        tickets.annotate(rated=rated)
        .values("organisation", "category")
        .annotate(
            n=Count("id"),
            solved=Count("id", filter=Q(status__in=[Status.SOLVED, Status.CLOSED])),
            good=Count("rated", filter=Q(rated__rating=Rating.GOOD)),
            bad=Count("rated", filter=Q(rated__rating=Rating.BAD)),
        )
    )
    for entry in by_category:
        row = rows[entry["organisation"]]
        row.received += entry["n"]
        row.solved += entry["solved"]
        row.rated_good += entry["good"]
        row.rated_bad += entry["bad"]
        if entry["category"] == Category.QUESTION:
            row.questions += entry["n"]
        elif entry["category"] in (Category.INCIDENT, Category.PROBLEM):
            row.incidents += entry["n"]
        else:
            row.other += entry["n"]

    clocks = received_clocks(tenant=tenant, start=start, end=end)
    if organisation is not None:
        clocks = clocks.filter(ticket__organisation=organisation)
    for group, outcomes in clock_outcomes(clocks, by="ticket__organisation", now=now):
        rows[group["ticket__organisation"]].outcomes = outcomes  # type: ignore[index]

    names = dict(
        Organisation.objects.filter(pk__in=[k for k in rows if k]).values_list("pk", "name")
    )
    total = ReportRow(label=organisation.name if organisation else tenant.name)
    ordered: list[ReportRow] = []
    for key, row in rows.items():
        row.label = names.get(key, "—") if key else "—"
        total.add(row)
        ordered.append(row)
    ordered.sort(key=lambda r: r.label.lower())
    return SLAReport(
        tenant=tenant, month=month, organisation=organisation, total=total, rows=ordered
    )


def _report_recipients(organisation: Organisation, day: dt.date) -> list[Contact]:
    """Who receives an organisation's report: its named contacts, else contacts who log in."""
    contract = contract_for_organisation(organisation=organisation, day=day)
    if contract is not None:
        named = [n.contact for n in contract.named_contacts.select_related("contact")]
        if named:
            return named
    return list(organisation.contacts.filter(user__isnull=False).order_by("pk"))


def sla_reports_send(*, tenant: Tenant, month: dt.date, now: dt.datetime | None = None) -> int:
    """E-mail ``month``'s report to every organisation whose plan includes monthly reports,
    and the tenant-wide report to its managers. Returns how many mails were queued.

    Exactly once per (month, organisation or tenant, recipient): the outbox key is unique, so
    a rerun after a crash queues only what is missing. Caller holds the tenant scope.
    """
    now = now or timezone.now()
    today = timezone.localtime(now, ZoneInfo(tenant.time_zone)).date()
    queued = 0
    for organisation in Organisation.objects.order_by("pk"):
        if not organisation_has_feature(organisation=organisation, key=MONTHLY_REPORTS, at=now):
            continue
        report = sla_report_build(tenant=tenant, month=month, organisation=organisation, now=now)
        for contact in _report_recipients(organisation, today):
            language = contact.language or organisation.language or tenant.default_language
            with translation.override(language):
                subject, body = _render_mail(report)
            mail_enqueue(
                tenant=tenant,
                key=f"sla-report:{report.period_label}:org{organisation.pk}:contact{contact.pk}",
                kind=OutboundKind.SLA_REPORT,
                to=contact.email,
                subject=subject,
                body=body,
            )
            queued += 1
    report = sla_report_build(tenant=tenant, month=month, now=now)
    managers = Membership.objects.filter(role=Role.MANAGER).select_related("user")
    for membership in managers.order_by("pk"):
        user = membership.user
        if not user.email:
            continue
        with translation.override(user.language or tenant.default_language):
            subject, body = _render_mail(report)
        mail_enqueue(
            tenant=tenant,
            key=f"sla-report:{report.period_label}:tenant:user{user.pk}",
            kind=OutboundKind.SLA_REPORT,
            to=user.email,
            subject=subject,
            body=body,
        )
        queued += 1
    return queued


def _render_mail(report: SLAReport) -> tuple[str, str]:
    subject = _("SLA report %(month)s: %(name)s") % {
        "month": report.period_label,
        "name": report.total.label,
    }
    body = render_to_string("reports/mail.txt", {"report": report})
    return subject, body
